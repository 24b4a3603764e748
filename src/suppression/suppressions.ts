import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Batcher } from '../shared/batcher.js';

const sql = sqlFile(new URL('./suppressions.sql', import.meta.url), [
  'listSuppressions', 'getSuppression', 'lookupSuppressions', 'addSuppressions', 'deleteSuppression', 'exportSuppressions',
] as const);

/**
 * The account's suppression list (SPEC section 7): addresses it must not send to again. Hard
 * bounces and complaints are added by the event-log trigger (migration 007), unsubscribes by
 * the unsubscribe route; operators add (MANUAL), import, export and remove entries here.
 */
export const SUPPRESSION_REASONS = ['HARD_BOUNCE', 'COMPLAINT', 'UNSUBSCRIBE', 'MANUAL'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export interface Suppression {
  address: string;
  reason: SuppressionReason;
  /** The message whose bounce, complaint or unsubscribe added it; null for MANUAL and imports without one. */
  messageId: string | null;
  createdAt: string;
}

interface Row {
  account_id?: number;
  address: string;
  reason: SuppressionReason;
  message_id: string | null;
  created_at: Date | string;
}

function fromRow(row: Row): Suppression {
  return { address: row.address, reason: row.reason, messageId: row.message_id, createdAt: new Date(row.created_at).toISOString() };
}

/** Addresses are compared case-insensitively: the whole address is stored lower-cased. */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

export interface SuppressionPage {
  data: Suppression[];
  nextCursor: string | null;
}

export async function listSuppressions(db: Queryable, accountId: number, filter: { reason?: SuppressionReason; limit: number; cursor?: string }): Promise<SuppressionPage> {
  const after = filter.cursor ? decodeCursor(filter.cursor) : null;
  const rows = await db.query<Row & Record<string, unknown>>(sql.listSuppressions, [accountId, filter.reason ?? null, after?.createdAt ?? null, after?.address ?? null, filter.limit + 1]);
  const page = rows.slice(0, filter.limit).map(fromRow);
  const last = page.at(-1);
  return { data: page, nextCursor: rows.length > filter.limit && last ? encodeCursor(last) : null };
}

export async function getSuppression(db: Queryable, accountId: number, address: string): Promise<Suppression | null> {
  const [row] = await db.query<Row & Record<string, unknown>>(sql.getSuppression, [accountId, normalizeAddress(address)]);
  return row ? fromRow(row) : null;
}

export interface NewSuppression {
  address: string;
  reason: SuppressionReason;
  messageId?: string | null;
  createdAt?: string | null;
}

/** Adds entries in one statement; an address already listed keeps its entry. Returns the addresses added. */
export async function addSuppressions(db: Queryable, accountId: number, entries: readonly NewSuppression[], now: Date): Promise<Set<string>> {
  const unique = new Map<string, NewSuppression>();
  for (const entry of entries) {
    const address = normalizeAddress(entry.address);
    if (!unique.has(address)) unique.set(address, { ...entry, address });
  }
  const payload = [...unique.values()].map((entry) => ({ address: entry.address, reason: entry.reason, message_id: entry.messageId ?? null, created_at: entry.createdAt ?? null }));
  const rows = await db.query<{ address: string }>(sql.addSuppressions, [accountId, JSON.stringify(payload), now]);
  return new Set(rows.map((row) => row.address));
}

export async function deleteSuppression(db: Queryable, accountId: number, address: string): Promise<boolean> {
  const rows = await db.query(sql.deleteSuppression, [accountId, normalizeAddress(address)]);
  return rows.length > 0;
}

export async function exportSuppressions(db: Queryable, accountId: number): Promise<Suppression[]> {
  return (await db.query<Row & Record<string, unknown>>(sql.exportSuppressions, [accountId])).map(fromRow);
}

function encodeCursor(entry: Suppression): string {
  return Buffer.from(JSON.stringify([entry.createdAt, entry.address])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; address: string } | null {
  try {
    const [createdAt, address] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt !== 'string' || typeof address !== 'string' || Number.isNaN(Date.parse(createdAt))) return null;
    return { createdAt, address };
  } catch {
    return null;
  }
}

export function isValidCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== null;
}

/**
 * The check every send makes: concurrent sends share one look-up statement, so that the check
 * costs the hot path one shared round trip rather than one per message. It reads the table
 * every time (no cache): an address suppressed a moment ago must not be mailed again.
 */
export class SuppressionChecker {
  private readonly batcher: Batcher<{ accountId: number; addresses: string[] }, Map<string, Suppression>>;

  constructor(db: Queryable) {
    this.batcher = new Batcher({
      maxBatch: 500,
      maxConcurrent: 2,
      flush: async (items) => {
        const pairs = items.flatMap((item) => item.addresses.map((address) => [item.accountId, address]));
        const rows = await db.query<Row & { account_id: number } & Record<string, unknown>>(sql.lookupSuppressions, [JSON.stringify(pairs)]);
        const found = new Map<string, Suppression>();
        for (const row of rows) found.set(`${row.account_id}\n${row.address}`, fromRow(row));
        return items.map((item) => {
          const mine = new Map<string, Suppression>();
          for (const address of item.addresses) {
            const entry = found.get(`${item.accountId}\n${address}`);
            if (entry) mine.set(address, entry);
          }
          return mine;
        });
      },
    });
  }

  /** The suppressed ones among `addresses` (lower-cased), keyed by address. */
  async suppressed(accountId: number, addresses: readonly string[]): Promise<Map<string, Suppression>> {
    const normalized = [...new Set(addresses.map(normalizeAddress))];
    if (normalized.length === 0) return new Map();
    return this.batcher.submit({ accountId, addresses: normalized });
  }
}
