import type { Database } from '../../src/db/database.js';
import { DATA_VERSION, generateMessages } from './consoleData.js';
import { startMailroom, type ConsoleStore } from './consoleStore.js';

/** What a store holds: written last by the generation, so a store without it is incomplete. */
export interface Generated {
  messages: number;
  recipients: number;
  accountId: number;
  firstMs: number;
  lastMs: number;
  seconds: number;
  generatedAt: Date;
  /** True when a kept store from an earlier run was used as it was. */
  reused: boolean;
}

const MARKER = 'bench_console_generated';

async function readMarker(db: Database): Promise<Generated | null> {
  const [table] = await db.query<{ found: string | null }>(`SELECT to_regclass('${MARKER}')::text AS found`);
  if (!table?.found) return null;
  const [row] = await db.query<{ messages: number; recipients: number; account_id: number; first_ms: number; last_ms: number; seconds: number; generated_at: Date; version: number }>(
    `SELECT * FROM ${MARKER}`);
  if (!row || row.version !== DATA_VERSION) return null;
  return { messages: row.messages, recipients: row.recipients, accountId: row.account_id, firstMs: row.first_ms, lastMs: row.last_ms, seconds: row.seconds, generatedAt: row.generated_at, reused: true };
}

/**
 * The store's messages: those of an earlier run when a kept store has them, otherwise a first
 * Mailroom start (which migrates the store and makes the default account and its key), then the
 * generation into that account, timed, with the marker written last.
 */
export async function ensureGenerated(store: ConsoleStore, messages: number, recipients: number, progress: (line: string) => void): Promise<Generated> {
  if (store.kept) {
    const db = await store.open();
    const marker = await readMarker(db).finally(() => db.close());
    if (marker && marker.messages === messages && marker.recipients === recipients) return marker;
    progress(`${store.where} holds no finished generation (new, or an earlier one was interrupted): generating`);
    await store.wipe();
  }
  const first = await startMailroom(store);
  await first.stop();
  await first.close();
  const db = await store.open();
  try {
    const [key] = await db.query<{ account_id: number; operator_id: number }>('SELECT account_id, operator_id FROM api_keys ORDER BY id LIMIT 1');
    if (!key) throw new Error('the first start made no API key');
    // Index builds sort in memory up to this (PGlite's heap is smaller than a server's).
    await db.query(`SET maintenance_work_mem = '${store.kind === 'postgres' ? '1GB' : '256MB'}'`);
    const started = performance.now();
    const generated = await generateMessages(db, { accountId: key.account_id, operatorId: key.operator_id }, messages, recipients, Date.now(), progress);
    const seconds = (performance.now() - started) / 1000;
    await db.query(`CREATE TABLE ${MARKER} (version int, messages bigint, recipients int, account_id bigint, first_ms bigint, last_ms bigint, seconds real, generated_at timestamptz)`);
    await db.query(`INSERT INTO ${MARKER} VALUES ($1, $2, $3, $4, $5, $6, $7, now())`,
      [DATA_VERSION, generated.total, recipients, key.account_id, generated.firstMs, generated.lastMs, seconds]);
    return { messages: generated.total, recipients, accountId: key.account_id, firstMs: generated.firstMs, lastMs: generated.lastMs, seconds, generatedAt: new Date(), reused: false };
  } finally {
    await db.close();
  }
}

/** The table's and its indexes' sizes, for the report. */
export async function messageTableSize(db: Database): Promise<string> {
  const [row] = await db.query<{ heap: string; indexes: string }>(
    "SELECT pg_size_pretty(pg_table_size('messages')) AS heap, pg_size_pretty(pg_indexes_size('messages')) AS indexes");
  return `messages: ${row!.heap} table (with TOAST), ${row!.indexes} indexes`;
}
