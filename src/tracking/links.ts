import { createHmac } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring.js';
import { sameSignature } from '../shared/signatures.js';

/**
 * Signed tracking and unsubscribe URLs under MAILROOM_PUBLIC_URL.
 *
 * Every URL carries an HMAC-SHA256 (truncated to 128 bits) over what it names: the kind, the
 * message, and for a click the link's position and its target. Nothing is stored per link: the
 * click URL holds its own target, so a redirect needs no database read, and any edit of the
 * message id, the position or the target fails the signature, which the routes answer with 404.
 * No URL can therefore be made to redirect anywhere its message did not link to.
 *
 * The key is derived (HKDF) from the installation's encryption key, so every process of one
 * installation (API, workers) makes and checks the same signatures without sharing another file;
 * after a key change, URLs signed with a previous key of the ring still verify.
 */
const SIGNATURE_BYTES = 16;

export type LinkKind = 'open' | 'click' | 'unsubscribe';

export interface ClickTarget {
  messageId: string;
  index: number;
  url: string;
}

export class TrackingLinks {
  /** One key per master key of the ring: URLs are signed with the first, any verifies. */
  private readonly keys: Buffer[];
  private readonly base: string;

  constructor(ring: KeyRing, publicUrl: string) {
    this.keys = ring.derive('mailroom tracking links v1');
    this.base = publicUrl.replace(/\/+$/, '');
  }

  openUrl(messageId: string): string {
    return `${this.base}/t/o/${messageId}/${this.sign('open', messageId)}.gif`;
  }

  clickUrl(messageId: string, index: number, url: string): string {
    return `${this.base}/t/c/${messageId}/${index}/${Buffer.from(url, 'utf8').toString('base64url')}/${this.sign('click', messageId, String(index), url)}`;
  }

  unsubscribeUrl(messageId: string): string {
    return `${this.base}/u/${messageId}/${this.sign('unsubscribe', messageId)}`;
  }

  verifyOpen(messageId: string, signature: string): boolean {
    return this.matches(signature, 'open', messageId);
  }

  /** The click's target, or null when the URL was not made by this installation for this message. */
  verifyClick(messageId: string, index: string, encodedUrl: string, signature: string): ClickTarget | null {
    if (!/^\d{1,6}$/.test(index) || !/^[A-Za-z0-9_-]+$/.test(encodedUrl)) return null;
    const url = Buffer.from(encodedUrl, 'base64url').toString('utf8');
    // base64url decoding is lenient: only the canonical encoding of the target is accepted.
    if (Buffer.from(url, 'utf8').toString('base64url') !== encodedUrl) return null;
    if (!this.matches(signature, 'click', messageId, index, url)) return null;
    return { messageId, index: Number(index), url };
  }

  verifyUnsubscribe(messageId: string, signature: string): boolean {
    return this.matches(signature, 'unsubscribe', messageId);
  }

  /**
   * What a URL under this installation's public URL is, or null for any other URL: a click
   * (verified: its target), or an open or unsubscribe link (by its path: a reader of the URL must
   * not request it, whoever signed it).
   */
  parse(url: string): { kind: 'click'; url: string } | { kind: 'open' | 'unsubscribe' } | null {
    if (!url.startsWith(`${this.base}/`)) return null;
    const path = url.slice(this.base.length).split(/[?#]/, 1)[0]!;
    const click = /^\/t\/c\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (click) {
      const target = this.verifyClick(click[1]!, click[2]!, click[3]!, click[4]!);
      return target ? { kind: 'click', url: target.url } : null;
    }
    if (path.startsWith('/t/o/')) return { kind: 'open' };
    if (path.startsWith('/u/')) return { kind: 'unsubscribe' };
    return null;
  }

  private sign(kind: LinkKind, ...parts: string[]): string {
    return this.signWith(this.keys[0]!, kind, ...parts);
  }

  private signWith(key: Buffer, kind: LinkKind, ...parts: string[]): string {
    const hmac = createHmac('sha256', key).update(kind);
    // NUL separators: no part can contain one (ids are base32, the index digits, a URL is
    // encoded), so no two different part lists sign the same bytes.
    for (const part of parts) hmac.update('\0').update(part);
    return hmac.digest().subarray(0, SIGNATURE_BYTES).toString('base64url');
  }

  private matches(signature: string, kind: LinkKind, ...parts: string[]): boolean {
    if (!/^[A-Za-z0-9_-]{22}$/.test(signature)) return false;
    // Mail sent before a key change keeps working links while the old key stays in the ring.
    return this.keys.some((key) => sameSignature(signature, this.signWith(key, kind, ...parts)));
  }
}
