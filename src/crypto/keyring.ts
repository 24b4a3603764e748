import { createHash } from 'node:crypto';
import { KEY_BYTES } from './aead.js';
import { deriveKey } from '../shared/signatures.js';

/**
 * The installation's master keys: the current one (MAILROOM_ENCRYPTION_KEY), which seals and
 * signs everything new, and previous ones (MAILROOM_ENCRYPTION_KEYS_PREVIOUS), which still open
 * what they sealed and verify what they signed, until `mailroom secrets rotate` has re-sealed
 * the stored secrets and the links they signed have aged out. A master key never encrypts or
 * signs anything itself: each use derives its own key from it (HKDF, see deriveKey).
 */
export interface RingKey {
  /** Short, stable and one-way: named in sealed values and errors, never the key itself. */
  id: string;
  key: Buffer;
}

/** 12 hex digits of a SHA-256 over a fixed label and the key: the same key always has the same id. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('mailroom key id v1\0').update(key).digest('hex').slice(0, 12);
}

export class KeyRing {
  readonly current: RingKey;
  /** Without the current key or repeats, in the order given. */
  readonly previous: readonly RingKey[];
  private readonly byIdMap: Map<string, RingKey>;

  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== KEY_BYTES) throw new Error(`a master key has ${KEY_BYTES} bytes, not ${key.length}`);
    }
    this.current = { id: keyIdOf(current), key: current };
    this.byIdMap = new Map([[this.current.id, this.current]]);
    const others: RingKey[] = [];
    for (const key of previous) {
      const id = keyIdOf(key);
      if (this.byIdMap.has(id)) continue;
      const entry = { id, key };
      this.byIdMap.set(id, entry);
      others.push(entry);
    }
    this.previous = others;
  }

  get(id: string): RingKey | undefined {
    return this.byIdMap.get(id);
  }

  /** The current key's id first. */
  get ids(): string[] {
    return [this.current.id, ...this.previous.map((entry) => entry.id)];
  }

  /**
   * One purpose's key from each master key, the current one's first: sign with the first,
   * accept a signature made with any (links and addresses signed before a key change).
   */
  derive(purpose: string): Buffer[] {
    return [this.current, ...this.previous].map((entry) => deriveKey(entry.key, purpose));
  }
}
