import { createHmac, randomBytes } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring.js';
import { sameSignature } from '../shared/signatures.js';

/** How long a mailed subscription confirmation link works (7 days, as listmonk and Mailchimp). */
export const SUBSCRIBE_CONFIRMATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface SubscribeToken {
  /** lists.seq: compact, and meaningless without the signature. */
  listSeq: number;
  contactId: number;
  /** The nonce stored on the membership when the link was mailed: a later unsubscribe or a newer link clears or replaces it. */
  nonce: string;
  expiresAt: number;
}

/**
 * Double opt-in links: `<public url>/subscribe/confirm/<list>.<contact>.<nonce>.<expiry>.<hmac>`.
 * Like the sender confirmations (src/senders/confirmationLinks.ts), the expiry is inside the
 * signed text, so nobody can extend a link, and a forged one is refused without a query; the
 * key is derived for this purpose alone, so a sender confirmation or a tracking signature is
 * worthless here. The nonce ties a link to one mailing: an unsubscribe clears it, so a link
 * found later in the person's mailbox cannot subscribe them again.
 */
export class SubscribeLinks {
  private readonly keys: Buffer[];
  private readonly base: string;

  constructor(ring: KeyRing, publicUrl: string) {
    this.keys = ring.derive('mailroom list subscription v1');
    this.base = publicUrl.replace(/\/+$/, '');
  }

  static newNonce(): string {
    return randomBytes(12).toString('base64url');
  }

  url(token: SubscribeToken): string {
    const text = `${token.listSeq}.${token.contactId}.${token.nonce}.${token.expiresAt}`;
    return `${this.base}/subscribe/confirm/${text}.${this.sign(this.keys[0]!, text)}`;
  }

  /** The token a link names, if its signature is right; whether it expired is the caller's to say. */
  read(token: string): SubscribeToken | null {
    const match = /^(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{16})\.(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return null;
    const [, list, contact, nonce, expires, signature] = match as unknown as [string, string, string, string, string, string];
    const text = `${list}.${contact}.${nonce}.${expires}`;
    if (!this.keys.some((key) => sameSignature(signature, this.sign(key, text)))) return null;
    return { listSeq: Number(list), contactId: Number(contact), nonce, expiresAt: Number(expires) };
  }

  private sign(key: Buffer, text: string): string {
    return createHmac('sha256', key).update(`confirm-subscription\n${text}`).digest('base64url');
  }
}
