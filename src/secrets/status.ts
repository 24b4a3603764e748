import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { KeyRing } from '../crypto/keyring.js';

const sql = sqlFile(new URL('./secrets.sql', import.meta.url), ['sealedStatus'] as const);

export interface SealedCount {
  kind: string;
  /** The key id the values are sealed with, or 'clear'. */
  keyId: string;
  /** What the key is to this process's ring. */
  key: 'current' | 'previous' | 'unknown' | 'clear';
  count: number;
}

/** `mailroom secrets status`: how many stored secrets of each kind are sealed with which key. */
export async function sealedStatus(db: Queryable, ring: KeyRing): Promise<SealedCount[]> {
  const rows = await db.query<{ kind: string; key_id: string; n: number }>(sql.sealedStatus);
  return rows.map((row) => ({
    kind: row.kind,
    keyId: row.key_id,
    key: row.key_id === 'clear' ? 'clear' : row.key_id === ring.current.id ? 'current' : ring.get(row.key_id) ? 'previous' : 'unknown',
    count: Number(row.n),
  }));
}
