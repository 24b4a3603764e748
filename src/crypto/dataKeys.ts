import { randomBytesPooled } from './random.js';
import { decrypt, encrypt, IV_BYTES, KEY_BYTES } from './aead.js';
import { SealedValueError, type SealContext, type Sealer } from './sealed.js';

/**
 * Envelope encryption for bulk data (message content): each item gets its own random data key,
 * which encrypts the bytes and is stored wrapped (sealed) by the ring's current key-encryption
 * key. Rotating the master key then re-wraps the small data keys, not the data.
 */
export function generateDataKey(): Buffer {
  return randomBytesPooled(KEY_BYTES);
}

/** The data key as sealed text, under the ring's current key. */
export function wrapDataKey(sealer: Sealer, dataKey: Buffer, context: SealContext): string {
  if (dataKey.length !== KEY_BYTES) throw new Error(`a data key has ${KEY_BYTES} bytes, not ${dataKey.length}`);
  return sealer.seal(dataKey, context);
}

export function unwrapDataKey(sealer: Sealer, wrapped: string, context: SealContext): Buffer {
  const key = sealer.openBytes(wrapped, context);
  if (key.length !== KEY_BYTES) throw new SealedValueError(`a wrapped ${context.purpose} holds ${key.length} bytes, not a data key`, null);
  return key;
}

/** IV, ciphertext and tag in one buffer (for a bytea column or a file); `aad` binds it to its place. */
export function encryptWithDataKey(dataKey: Buffer, plaintext: Buffer, aad: Buffer = Buffer.alloc(0)): Buffer {
  const { iv, sealed } = encrypt(dataKey, plaintext, aad);
  return Buffer.concat([iv, sealed]);
}

/** Throws DecryptionError when the bytes, the key or `aad` are not the ones it was made with. */
export function decryptWithDataKey(dataKey: Buffer, encrypted: Buffer, aad: Buffer = Buffer.alloc(0)): Buffer {
  return decrypt(dataKey, { iv: encrypted.subarray(0, IV_BYTES), sealed: encrypted.subarray(IV_BYTES) }, aad);
}
