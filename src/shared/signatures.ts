import { hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * A key for one purpose (VERP tokens, tracking links, sender confirmations), derived with HKDF
 * from the installation key: every process of an installation derives the same keys from the one
 * key they share, and a signature made for one purpose is worthless for another.
 */
export function deriveKey(installationKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', installationKey, Buffer.alloc(0), purpose, 32));
}

/**
 * Compares a signature as the text it was given in, in constant time. Never decoded first: the
 * last character of a base64 string has spare bits, so decoding would accept several spellings
 * of one signature, and an edited URL or address must never work.
 */
export function sameSignature(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'latin1');
  const b = Buffer.from(expected, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}
