import { createHash } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { ApiError } from '../shared/errors.js';

const sql = sqlFile(new URL('./messages.sql', import.meta.url), ['idempotencyLookup', 'idempotencyClaim'] as const);

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

/** Key order must not matter: {"a":1,"b":2} and {"b":2,"a":1} are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonical(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestHash(route: string, body: unknown, query: unknown): string {
  return createHash('sha256').update(`${route}\n${canonical(body)}\n${canonical(query)}`).digest('hex');
}

export function checkKey(key: string): void {
  if (key.length === 0 || key.length > 255 || /[^\x21-\x7e]/.test(key)) {
    throw new ApiError(400, 'VALIDATION_ERROR', 'The Idempotency-Key header must be 1-255 visible ASCII characters.', [
      { field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
    ]);
  }
}

const reused = () =>
  new ApiError(409, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request in the last 24 hours.', [
    { field: 'Idempotency-Key', message: 'was used with another request body' },
  ]);

/** The earlier response for this key, or null; a different request under the same key is a 409. */
export async function replayFor(db: Queryable, accountId: number, key: string, hash: string, now: Date): Promise<StoredResponse | null> {
  const [row] = await db.query<{ request_hash: string; status_code: number; response: unknown }>(sql.idempotencyLookup, [
    accountId, key, new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS),
  ]);
  if (!row) return null;
  if (row.request_hash !== hash) throw reused();
  return { statusCode: row.status_code, body: JSON.parse(row.response as string) as unknown };
}

/** Records the response under the key inside the caller's transaction; false if another request holds the key. */
export async function claimKey(tx: Queryable, accountId: number, key: string, hash: string, response: StoredResponse, now: Date): Promise<boolean> {
  const rows = await tx.query(sql.idempotencyClaim, [
    accountId, key, hash, response.statusCode, JSON.stringify(response.body), now, new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS),
  ]);
  return rows.length > 0;
}

export class KeyTaken extends Error {}
