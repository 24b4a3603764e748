import { createHash } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { randomToken } from '../shared/ids.js';
import { oneLineProblem } from '../shared/characters.js';
import { AccountError, ensureOperator, requireAccount, DEFAULT_OPERATOR } from './accounts.js';

const sql = sqlFile(new URL('./accounts.sql', import.meta.url), [
  'insertKey', 'keyByHash', 'keyHashExists', 'listKeys', 'revokeKey',
] as const);

/** Recognisable in logs and secret scanners, like `sk_live_` elsewhere. */
export const KEY_PREFIX = 'mr_';

export interface Principal {
  /** The API key used; null for an SMTP credential (password or IP). */
  keyId: number | null;
  accountId: number;
  accountName: string;
  accountStatus: 'active' | 'suspended';
  /** A HIPAA account (docs/HIPAA.md): served only on the HIPAA listeners. */
  accountHipaa: boolean;
  operatorId: number;
  operatorName: string;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): string {
  return `${KEY_PREFIX}${randomToken(30)}`;
}

function displayPrefix(key: string): string {
  return key.slice(0, Math.min(12, Math.max(4, key.length - 8)));
}

export interface CreatedKey {
  id: number;
  key: string;
  prefix: string;
}

/** Stores a key (generated unless given) for an operator of the account; the plain key is returned once. */
export async function createKey(
  db: Queryable,
  options: { accountName: string; operatorName?: string; name?: string; key?: string },
): Promise<CreatedKey> {
  const nameProblem = oneLineProblem(options.name);
  if (nameProblem) throw new AccountError(`the key's name ${nameProblem}: ${JSON.stringify(options.name)}`);
  const account = await requireAccount(db, options.accountName);
  const operator = await ensureOperator(db, account.id, options.operatorName ?? DEFAULT_OPERATOR);
  const key = options.key ?? generateKey();
  const prefix = displayPrefix(key);
  const [row] = await db.query<{ id: number }>(sql.insertKey, [account.id, operator.id, options.name ?? '', prefix, hashKey(key)]);
  return { id: row!.id, key, prefix };
}

export async function keyExists(db: Queryable, key: string): Promise<boolean> {
  return (await db.query(sql.keyHashExists, [hashKey(key)])).length > 0;
}

export async function listKeys(db: Queryable, accountName: string) {
  const account = await requireAccount(db, accountName);
  return db.query<{ id: number; prefix: string; name: string; operator: string; created_at: Date; revoked_at: Date | null }>(
    sql.listKeys,
    [account.id],
  );
}

export async function revokeKey(db: Queryable, accountName: string, keyId: number): Promise<boolean> {
  const account = await requireAccount(db, accountName);
  return (await db.query(sql.revokeKey, [account.id, keyId])).length > 0;
}

interface KeyRow {
  key_id: number;
  account_id: number;
  account_name: string;
  account_status: 'active' | 'suspended';
  account_hipaa: boolean;
  operator_id: number;
  operator_name: string;
}

/**
 * Resolves a presented key to its principal. Every request authenticates, so results are cached
 * for a few seconds (misses too, to blunt guessing floods); a revoked key or a suspension is
 * seen within that time.
 */
export class KeyAuthenticator {
  private cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(private readonly db: Queryable, private readonly ttlMs = 5_000) {}

  async authenticate(key: string): Promise<Principal | null> {
    // Keyed by the presented key itself (this map never leaves the process), so a cache hit
    // costs no hashing.
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.principal;
    const [row] = await this.db.query<KeyRow & Record<string, unknown>>(sql.keyByHash, [hashKey(key)], 'keyByHash');
    const principal: Principal | null = row
      ? {
          keyId: row.key_id,
          accountId: row.account_id,
          accountName: row.account_name,
          accountStatus: row.account_status,
          accountHipaa: row.account_hipaa,
          operatorId: row.operator_id,
          operatorName: row.operator_name,
        }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { principal, until: now + this.ttlMs });
    return principal;
  }

  forget(): void {
    this.cache.clear();
  }
}
