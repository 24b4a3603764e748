import { createHmac, randomBytes } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring.js';
import { sameSignature } from '../shared/signatures.js';

/** How long a mailed confirmation link works. */
export const CONFIRMATION_TTL_MS = 24 * 3600 * 1000;

export interface ConfirmationToken {
  senderId: number;
  nonce: string;
  expiresAt: number;
}

/**
 * Confirmation links for sender addresses: `<public url>/senders/confirm/<token>`, where the token
 * names the sender, a nonce stored with it (a resend replaces the nonce, so that only the newest
 * link works) and its expiry, signed with an HMAC whose key is derived (HKDF) from the
 * installation key, like the tracking links. The expiry is in the signed text, so nobody can
 * extend a link, and no lookup is needed to refuse a forged one.
 */
export class ConfirmationLinks {
  /** One key per master key of the ring: links are signed with the first, any verifies. */
  private readonly keys: Buffer[];
  private readonly base: string;

  constructor(ring: KeyRing, publicUrl: string) {
    this.keys = ring.derive('mailroom sender confirmation v1');
    this.base = publicUrl.replace(/\/+$/, '');
  }

  static newNonce(): string {
    return randomBytes(12).toString('base64url');
  }

  url(token: ConfirmationToken): string {
    const text = `${token.senderId}.${token.nonce}.${token.expiresAt}`;
    return `${this.base}/senders/confirm/${text}.${this.sign(this.keys[0]!, text)}`;
  }

  /** The token a link names, if its signature is right; expiry is the caller's to judge (it says so differently). */
  read(token: string): ConfirmationToken | null {
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{16})\.(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return null;
    const [, id, nonce, expires, signature] = match as unknown as [string, string, string, string, string];
    const text = `${id}.${nonce}.${expires}`;
    if (!this.keys.some((key) => sameSignature(signature, this.sign(key, text)))) return null;
    return { senderId: Number(id), nonce, expiresAt: Number(expires) };
  }

  private sign(key: Buffer, text: string): string {
    return createHmac('sha256', key).update(`confirm-sender\n${text}`).digest('base64url');
  }
}
