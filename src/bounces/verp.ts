import { createHmac } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring.js';
import { sameSignature } from '../shared/signatures.js';

/**
 * VERP Return-Paths: `bounces+<message id>-<recipient>-<mac>@<bounce domain>`, so that a DSN
 * that comes back days later names the message (and, for a one-recipient transaction, the
 * recipient) it is about. `<recipient>` is the index in the message's envelope, or `x` when one
 * transaction carried several recipients (the DSN then names them itself). The MAC (HMAC-SHA256,
 * 50 bits) makes the address unforgeable: a DSN to a made-up token matches nothing.
 *
 * Everything is lower-case letters and digits (message ids are Crockford base32), because some
 * MTAs lower-case the local part of the address they bounce to. The local part stays under the
 * 64 octets RFC 5321 allows.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const PREFIX = 'bounces+';
const PATTERN = /^bounces\+([0-9a-hjkmnp-tv-z]{22})-(x|\d{1,4})-([0-9a-hjkmnp-tv-z]{10})@(.+)$/;

export interface VerpTarget {
  messageId: string;
  /** Index of the recipient in the message's envelope; null when the transaction had several. */
  recipientIndex: number | null;
  bounceDomain: string;
}

export class Verp {
  /** One key per master key of the ring: addresses are made with the first, any verifies. */
  private readonly keys: Buffer[];

  constructor(ring: KeyRing) {
    this.keys = ring.derive('mailroom verp v1');
  }

  address(target: VerpTarget): string {
    const recipient = target.recipientIndex === null ? 'x' : String(target.recipientIndex);
    return `${PREFIX}${target.messageId}-${recipient}-${this.mac(this.keys[0]!, target.messageId, recipient)}@${target.bounceDomain}`;
  }

  /** The message and recipient an address was made for, or null if it is not one of ours. */
  decode(address: string): VerpTarget | null {
    const match = PATTERN.exec(address.trim().toLowerCase());
    if (!match) return null;
    const [, messageId, recipient, mac, bounceDomain] = match as unknown as [string, string, string, string, string];
    // A DSN can come back days later: an address made before a key change still names its message.
    if (!this.keys.some((key) => sameSignature(mac, this.mac(key, messageId, recipient)))) return null;
    return { messageId, recipientIndex: recipient === 'x' ? null : Number(recipient), bounceDomain };
  }

  private mac(key: Buffer, messageId: string, recipient: string): string {
    const digest = createHmac('sha256', key).update(`${messageId}-${recipient}`).digest();
    let text = '';
    for (let i = 0; i < 10; i++) text += ALPHABET[digest[i]! & 31];
    return text;
  }
}

/**
 * Where DSNs for a message sent from `fromDomain` go: the configured domain (MAILROOM_BOUNCE_DOMAIN),
 * else bounces.<fromDomain> when the account verified that domain (its records include that MX).
 * Null for a sender confirmed alone without a bounce domain: its domain is not the user's to point
 * anywhere, so the Return-Path is the sender's own address and its bounces are not processed.
 */
export function bounceDomainFor(configured: string, fromDomain: string, verifiedDomain: boolean): string | null {
  if (configured) return configured;
  return verifiedDomain ? `bounces.${fromDomain}` : null;
}
