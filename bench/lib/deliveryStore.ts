import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireAccount } from '../../src/accounts/accounts.js';
import { bootstrapAccounts } from '../../src/accounts/bootstrap.js';
import { loadKeyRing } from '../../src/config/secrets.js';
import { Sealer } from '../../src/crypto/sealed.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/open.js';
import { SigningKeys } from '../../src/delivery/dkim.js';
import { KeyCache, prepareMessage } from '../../src/delivery/prepare.js';
import { addDomain } from '../../src/domains/domains.js';
import type { Content } from '../../src/sending/render.js';
import { createLogger } from '../../src/shared/log.js';
import { onCleanup } from './cleanup.js';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';

/**
 * A fresh Mailroom store for one delivery run (a PGlite data directory, or a scratch PostgreSQL
 * database `mr_bench_<random>`), prepared as `mailroom domains add DOMAIN --verified` would: the
 * default account with the bench's API key and a verified sending domain with its RSA-2048 DKIM
 * key. Removed by `remove()` or on interrupt.
 */
export interface DeliveryStore {
  kind: 'pglite' | 'postgres';
  dataDir: string;
  /** MAILROOM_DATABASE_URL, or '' for PGlite. */
  databaseUrl: string;
  scratch: ScratchDatabase | null;
  /** Opens the store from this process (PGlite: only while no Mailroom process holds it). */
  open(): Promise<Database>;
  /** Seals and opens its secrets with the key its Mailroom processes use (generated into dataDir). */
  sealer: Sealer;
  remove(): Promise<void>;
}

export async function createDeliveryStore(kind: 'pglite' | 'postgres', apiKey: string, sendingDomain: string): Promise<DeliveryStore> {
  const dataDir = mkdtempSync(join(tmpdir(), `mailroom-bench-delivery-${kind}-`));
  const removeDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const scratch = kind === 'postgres' ? await createScratchDatabase() : null;
  const databaseUrl = scratch?.url ?? '';
  const open = () => openDatabase({ databaseUrl, dataDir, dbPoolSize: 2 });
  const sealer = new Sealer(loadKeyRing({ encryptionKey: null, encryptionKeysPrevious: [], dataDir }));
  const db = await open();
  try {
    await migrate(db);
    await bootstrapAccounts(db, sealer, apiKey, createLogger('silent'));
    const account = await requireAccount(db, 'default');
    await addDomain(db, sealer, account.id, sendingDomain, { verified: true });
  } finally {
    await db.close();
  }
  return {
    kind,
    dataDir,
    databaseUrl,
    scratch,
    open,
    sealer,
    async remove() {
      await scratch?.drop();
      await removeDir();
    },
  };
}

export interface StoreCounts {
  messages: number;
  queued: number;
  events: number;
  statuses: Record<string, number>;
}

export async function storeCounts(db: Database): Promise<StoreCounts> {
  const [totals] = await db.query<{ messages: number; queued: number; events: number }>(
    'SELECT (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM queue)::int AS queued, (SELECT count(*) FROM message_events)::int AS events',
  );
  const rows = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM messages GROUP BY status');
  const statuses = Object.fromEntries(rows.map((row) => [row.status, row.n]));
  return { messages: totals?.messages ?? 0, queued: totals?.queued ?? 0, events: totals?.events ?? 0, statuses };
}

/**
 * The bytes Mailroom sends for one stored message (composed and DKIM-signed by its own code,
 * with the domain's stored key): the payload the Postfix reference relays, so that both move
 * the same message.
 */
export async function composedSample(db: Database, sealer: Sealer): Promise<Buffer> {
  const [row] = await db.query<{ account_id: number; from_address: string; content: Content; message_id_hdr: string; created_at: Date }>(
    'SELECT account_id, from_address, content, message_id_hdr, created_at FROM messages ORDER BY created_at LIMIT 1',
  );
  if (!row) throw new Error('no message stored');
  const keys = await new SigningKeys(db, sealer).forSender(row.account_id, row.from_address);
  if (keys.length === 0) throw new Error(`no DKIM key for ${row.from_address}`);
  const { raw } = await prepareMessage({ content: row.content, body: null, messageIdHeader: row.message_id_hdr, createdAt: new Date(row.created_at).getTime(), keys }, new KeyCache());
  return raw;
}
