import { createHash } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { randomToken } from '../shared/ids.js';
import { oneLineProblem } from '../shared/characters.js';
import { AccountError, ensureOperator, requireAccount, DEFAULT_OPERATOR } from './accounts.js';
import { isScope, normalizeScopes, type Scope } from './scopes.js';

const sql = sqlFile(new URL('./accounts.sql', import.meta.url), [
  'insertKey', 'keyByHash', 'keyHashExists', 'listKeys', 'revokeKey',
] as const);

/** Recognisable in logs and secret scanners, like `sk_live_` elsewhere. */
export const KEY_PREFIX = 'mr_';

export interface Principal {
  /** The API key used; null for an SMTP credential (password or IP) and a console sign-in. */
  keyId: number | null;
  /** The console sign-in (src/sessions/sessions.ts) the request came with, when it came with one. */
  sessionId?: number;
  accountId: number;
  accountName: string;
  accountStatus: 'active' | 'suspended';
  /** A HIPAA account (docs/HIPAA.md): served only on the HIPAA listeners. */
  accountHipaa: boolean;
  operatorId: number;
  operatorName: string;
  /** What the key may do (src/accounts/scopes.ts); null: everything (and every credential that is not an API key). */
  scopes: readonly Scope[] | null;
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
  scopes: Scope[] | null;
}

/** Stores a key (generated unless given) for an operator of the account; the plain key is returned once. */
export async function createKey(
  db: Queryable,
  options: { accountName: string; operatorName?: string; name?: string; key?: string; scopes?: readonly Scope[] | null },
): Promise<CreatedKey> {
  const account = await requireAccount(db, options.accountName);
  const operator = await ensureOperator(db, account.id, options.operatorName ?? DEFAULT_OPERATOR);
  return insertKey(db, account.id, operator.id, options);
}

/** A key for an operator known by id (the API: the caller's own operator). */
export async function insertKey(
  db: Queryable,
  accountId: number,
  operatorId: number,
  options: { name?: string | undefined; key?: string | undefined; scopes?: readonly Scope[] | null | undefined },
): Promise<CreatedKey> {
  const nameProblem = oneLineProblem(options.name);
  if (nameProblem) throw new AccountError(`the key's name ${nameProblem}: ${JSON.stringify(options.name)}`);
  const scopes = options.scopes ? normalizeScopes(options.scopes) : null;
  if (scopes?.length === 0) throw new AccountError('a scoped key needs at least one scope (send, read, admin)');
  const key = options.key ?? generateKey();
  const prefix = displayPrefix(key);
  const [row] = await db.query<{ id: number | string }>(sql.insertKey, [accountId, operatorId, options.name ?? '', prefix, hashKey(key), scopes]);
  return { id: Number(row!.id), key, prefix, scopes };
}

/** `send,read` → ['send', 'read']; throws AccountError naming what is not a scope. */
export function parseScopes(text: string): Scope[] {
  const words = text.split(',').map((word) => word.trim()).filter(Boolean);
  const unknown = words.filter((word) => !isScope(word));
  if (unknown.length > 0 || words.length === 0) throw new AccountError(`scopes are a comma-separated list of send, read and admin, not ${JSON.stringify(text)}`);
  return normalizeScopes(words as Scope[]);
}

export async function keyExists(db: Queryable, key: string): Promise<boolean> {
  return (await db.query(sql.keyHashExists, [hashKey(key)])).length > 0;
}

export interface KeyInfo {
  id: number;
  prefix: string;
  name: string;
  operator: string;
  scopes: Scope[] | null;
  createdAt: string;
  revokedAt: string | null;
}

interface KeyInfoRow extends Record<string, unknown> {
  id: number | string;
  prefix: string;
  name: string;
  operator: string;
  scopes: Scope[] | null;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

/** A page of the account's keys (never the keys themselves), by id after `after`. */
export async function listAccountKeys(db: Queryable, accountId: number, after = 0, limit = 1000): Promise<KeyInfo[]> {
  return (await db.query<KeyInfoRow>(sql.listKeys, [accountId, after, limit])).map((row) => ({
    id: Number(row.id), prefix: row.prefix, name: row.name, operator: row.operator, scopes: row.scopes,
    createdAt: new Date(row.created_at).toISOString(), revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  }));
}

export async function listKeys(db: Queryable, accountName: string): Promise<KeyInfo[]> {
  const account = await requireAccount(db, accountName);
  const keys: KeyInfo[] = [];
  for (;;) {
    const page = await listAccountKeys(db, account.id, keys.at(-1)?.id ?? 0);
    keys.push(...page);
    if (page.length < 1000) return keys;
  }
}

/** Revokes an active key of the account; false when it has none by that id. */
export async function revokeAccountKey(db: Queryable, accountId: number, keyId: number): Promise<boolean> {
  return (await db.query(sql.revokeKey, [accountId, keyId])).length > 0;
}

export async function revokeKey(db: Queryable, accountName: string, keyId: number): Promise<boolean> {
  const account = await requireAccount(db, accountName);
  return revokeAccountKey(db, account.id, keyId);
}

interface KeyRow {
  key_id: number;
  account_id: number;
  account_name: string;
  account_status: 'active' | 'suspended';
  account_hipaa: boolean;
  operator_id: number;
  operator_name: string;
  scopes: Scope[] | null;
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
          scopes: row.scopes,
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
