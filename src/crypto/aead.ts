import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomBytesPooled } from './random.js';

/**
 * AES-256-GCM, the one cipher of the crypto module: a random 96-bit IV per encryption (never
 * reused under one key: 2^32 encryptions per key keep the chance of a repeat negligible) and a
 * 128-bit tag, which authenticates the ciphertext and the additional data the caller binds to it.
 */
export const KEY_BYTES = 32;
export const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHER = 'aes-256-gcm';

/** The ciphertext or its additional data was altered, or the key is not the one it was made with. */
export class DecryptionError extends Error {}

export interface Encrypted {
  iv: Buffer;
  /** The ciphertext followed by the 16-byte tag. */
  sealed: Buffer;
}

export function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): Encrypted {
  checkKey(key);
  const iv = randomBytesPooled(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv);
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv, sealed };
}

export function decrypt(key: Buffer, { iv, sealed }: Encrypted, aad: Buffer): Buffer {
  checkKey(key);
  if (iv.length !== IV_BYTES || sealed.length < TAG_BYTES) throw new DecryptionError('not an AES-256-GCM ciphertext (IV or tag missing)');
  const decipher = createDecipheriv(CIPHER, key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptionError('the authentication tag does not match');
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`an AES-256 key has ${KEY_BYTES} bytes, not ${key.length}`);
}
