import { decrypt, DecryptionError, encrypt } from './aead.js';
import type { KeyRing } from './keyring.js';
import { deriveKey } from '../shared/signatures.js';

/**
 * Sealed values: a secret stored as self-describing text,
 *
 *   enc:v1:<key id>:<base64url IV>:<base64url ciphertext and tag>
 *
 * encrypted with AES-256-GCM under a data-encryption key derived (HKDF) from the ring key the id
 * names and the value's purpose. The context (purpose and owner) is the GCM additional data: a
 * value copied into another column, or into another account's row, does not open. Opening
 * accepts any key of the ring; sealing always uses the current one.
 */
export const SEALED_PREFIX = 'enc:';
const VERSION = 'v1';
const ENVELOPE = /^enc:v1:([0-9a-f]{12}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22,})$/;

/** What a value is and whose it is; both must be given again to open it. */
export interface SealContext {
  /** The kind of value ('dkim-private-key', 'webhook-secret', ...): it has its own derived key. */
  purpose: string;
  /** Whose it is (e.g. 'account:42'); '' for values of the installation itself. */
  owner: string;
}

/** A value that cannot be opened. The message names the key id and the purpose, never the value. */
export class SealedValueError extends Error {
  constructor(message: string, readonly keyId: string | null) {
    super(message);
  }
}

/** Whether a stored value is sealed (any key), as opposed to a value written in clear. */
export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/** The key id a sealed value names; null for anything else. */
export function sealedKeyId(value: string): string | null {
  return ENVELOPE.exec(value)?.[1] ?? null;
}

export class Sealer {
  /** Derived data-encryption keys by key id and purpose: HKDF costs more than a decryption. */
  private readonly dataKeys = new Map<string, Buffer>();

  constructor(readonly ring: KeyRing) {}

  /** The text that starts every value sealed with the current key (for "not yet rotated" queries). */
  get currentPrefix(): string {
    return `${SEALED_PREFIX}${VERSION}:${this.ring.current.id}:`;
  }

  seal(plaintext: string | Buffer, context: SealContext): string {
    const { id } = this.ring.current;
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const { iv, sealed } = encrypt(this.dataKey(id, context.purpose), data, additionalData(id, context));
    return `${this.currentPrefix}${iv.toString('base64url')}:${sealed.toString('base64url')}`;
  }

  /** The text a value was sealed from (UTF-8). */
  open(value: string, context: SealContext): string {
    return this.openBytes(value, context).toString('utf8');
  }

  openBytes(value: string, context: SealContext): Buffer {
    if (!isSealed(value)) {
      throw new SealedValueError(
        `a ${context.purpose} value is stored in clear, and only sealed values are read (clear values are sealed at start and by "mailroom secrets rotate")`, null,
      );
    }
    const match = ENVELOPE.exec(value);
    if (!match) throw new SealedValueError(`a ${context.purpose} value is not a well-formed sealed value (enc:v1:<key id>:<iv>:<ciphertext>)`, null);
    const [, id, iv, sealed] = match as unknown as [string, string, string, string];
    if (!this.ring.get(id)) {
      const previous = this.ring.previous.length > 0 ? `previous ${this.ring.previous.map((key) => key.id).join(', ')}` : 'no previous keys';
      throw new SealedValueError(
        `a ${context.purpose} value is sealed with key ${id}, which is not in the key ring (current ${this.ring.current.id}, ${previous}): ` +
          `give that key in MAILROOM_ENCRYPTION_KEYS_PREVIOUS`,
        id,
      );
    }
    try {
      return decrypt(this.dataKey(id, context.purpose), { iv: Buffer.from(iv, 'base64url'), sealed: Buffer.from(sealed, 'base64url') }, additionalData(id, context));
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      throw new SealedValueError(`a ${context.purpose} value sealed with key ${id} does not open: it was altered, or copied from another column or owner`, id);
    }
  }

  private dataKey(keyId: string, purpose: string): Buffer {
    const name = `${keyId}\0${purpose}`;
    let key = this.dataKeys.get(name);
    if (!key) {
      key = deriveKey(this.ring.get(keyId)!.key, `mailroom sealed ${VERSION} ${purpose}`);
      this.dataKeys.set(name, key);
    }
    return key;
  }
}

function additionalData(keyId: string, context: SealContext): Buffer {
  return Buffer.from(`mailroom sealed ${VERSION}\0${keyId}\0${context.purpose}\0${context.owner}`, 'utf8');
}
