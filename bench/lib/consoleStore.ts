import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../src/db/database.js';
import { openDatabase } from '../../src/db/open.js';
import { onCleanup } from './cleanup.js';
import { MailroomApi, type StoreKind } from './mailroomApi.js';
import { BENCH_SERVER_URL, createScratchDatabase, withAdmin, type ScratchDatabase } from './postgres.js';
import { ROOT } from './preamble.js';

/**
 * Where the console benchmark's messages live: a scratch store (dropped after the run), or with
 * `--keep` a named one that later runs reuse, because generating 10 million messages takes many
 * minutes. A kept store is named by the message count, the generator's version and the number of
 * migrations, so a schema change or a changed generator gets a store of its own:
 *   PostgreSQL: the database mr_bench_console_<key>; PGlite: the directory /tmp/mailroom-bench-console-<key>.
 */
export interface ConsoleStore {
  kind: StoreKind;
  /** Where it is, for the report. */
  where: string;
  kept: boolean;
  /** PostgreSQL's database (close() of a MailroomApi on it leaves it alone). */
  database: ScratchDatabase | null;
  /** PGlite's data directory. */
  dataDir: string | null;
  open(): Promise<Database>;
  /** Empties a kept store whose generation did not finish. */
  wipe(): Promise<void>;
  /** Drops a scratch store; a kept one stays. */
  dispose(): Promise<void>;
}

/** A fixed key: a kept PostgreSQL store's sealed secrets open on every run (each Mailroom gets a new data directory, without the first one's encryption.key). */
const BENCH_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export function migrationCount(): number {
  return readdirSync(join(ROOT, 'src/db/migrations')).filter((file) => file.endsWith('.sql')).length;
}

export async function openConsoleStore(kind: StoreKind, keepKey: string | null): Promise<ConsoleStore> {
  return kind === 'postgres' ? postgresStore(keepKey) : pgliteStore(keepKey);
}

async function postgresStore(keepKey: string | null): Promise<ConsoleStore> {
  let scratch: ScratchDatabase;
  if (keepKey === null) {
    scratch = await createScratchDatabase();
  } else {
    const name = `mr_bench_console_${keepKey}`;
    const url = new URL(BENCH_SERVER_URL);
    url.pathname = `/${name}`;
    scratch = { name, url: url.toString(), drop: async () => {} };
    await withAdmin(async (client) => {
      const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rows.length === 0) await client.query(`CREATE DATABASE ${name}`);
    });
  }
  // Mailroom's close() drops its database: this one outlives the Mailrooms started on it.
  const database: ScratchDatabase = { name: scratch.name, url: scratch.url, drop: async () => {} };
  return {
    kind: 'postgres',
    where: keepKey === null ? `scratch database ${scratch.name}` : `kept database ${scratch.name}`,
    kept: keepKey !== null,
    database,
    dataDir: null,
    open: () => openDatabase({ databaseUrl: scratch.url, dataDir: '', dbPoolSize: 1 }),
    wipe: () =>
      withAdmin(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${scratch.name} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${scratch.name}`);
      }),
    dispose: () => scratch.drop(),
  };
}

async function pgliteStore(keepKey: string | null): Promise<ConsoleStore> {
  let dataDir: string;
  let remove = async () => {};
  if (keepKey === null) {
    dataDir = mkdtempSync(join(tmpdir(), 'mailroom-bench-console-pglite-'));
    const dir = dataDir;
    remove = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  } else {
    dataDir = join(tmpdir(), `mailroom-bench-console-${keepKey}`);
    mkdirSync(dataDir, { recursive: true });
  }
  return {
    kind: 'pglite',
    where: `${keepKey === null ? 'scratch' : 'kept'} data directory ${dataDir}`,
    kept: keepKey !== null,
    database: null,
    dataDir,
    open: () => openDatabase({ databaseUrl: '', dataDir, dbPoolSize: 1 }),
    async wipe() {
      if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir, { recursive: true });
    },
    dispose: remove,
  };
}

/** `mailroom start --roles api` on the store (a first start migrates it and makes the default account). */
export function startMailroom(store: ConsoleStore): Promise<MailroomApi> {
  const env: Record<string, string> = { MAILROOM_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY };
  if (store.dataDir !== null) env.MAILROOM_DATA_DIR = store.dataDir;
  return MailroomApi.start({ kind: store.kind, env, ...(store.database ? { database: store.database } : {}) });
}
