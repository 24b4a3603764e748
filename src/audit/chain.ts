import { createHmac } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring.js';
import { deriveKey } from '../shared/signatures.js';

/** One audit entry's fields, as chained (docs/HIPAA.md). */
export interface AuditFields {
  accountId: number;
  seq: number;
  /** ISO 8601 with milliseconds, as stored and read back. */
  at: string;
  actor: string;
  operator: string | null;
  action: string;
  target: string | null;
  remoteAddress: string | null;
  outcome: 'ok' | 'refused' | 'failed';
  status: string | null;
  prevHash: string;
}

const PURPOSE = 'audit-chain';

/**
 * The chain's MAC: HMAC-SHA256, with a key derived from a key of the installation's ring, over
 * the entry's fields and the previous entry's hash. Keyed, so that someone who can write the
 * database but does not hold MAILROOM_ENCRYPTION_KEY cannot rewrite the rows after an edit.
 */
export class AuditChain {
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly ring: KeyRing) {}

  get currentKeyId(): string {
    return this.ring.current.id;
  }

  hash(fields: AuditFields, keyId: string = this.ring.current.id): string | null {
    const key = this.key(keyId);
    if (!key) return null;
    const canonical = JSON.stringify([
      fields.accountId, fields.seq, fields.at, fields.actor, fields.operator, fields.action, fields.target, fields.remoteAddress, fields.outcome, fields.status, fields.prevHash,
    ]);
    return createHmac('sha256', key).update(canonical).digest('base64url');
  }

  private key(id: string): Buffer | null {
    let key = this.keys.get(id);
    if (!key) {
      const ringKey = this.ring.get(id);
      if (!ringKey) return null;
      key = deriveKey(ringKey.key, PURPOSE);
      this.keys.set(id, key);
    }
    return key;
  }
}
