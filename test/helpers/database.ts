import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { listMigrations, migrate } from '../../src/db/migrate.js';
import type { Database } from '../../src/db/database.js';
import { loadKeyRing } from '../../src/config/secrets.js';
import { Sealer } from '../../src/crypto/sealed.js';
import { openDatabase } from '../../src/db/open.js';

/**
 * Each test file gets a database of its own: on PostgreSQL (MAILROOM_TEST_DATABASE_URL) a fresh
 * database created for it and dropped after; otherwise a PGlite data directory copied from a
 * template that is initialised and migrated once per run (initdb costs seconds, a copy does not).
 */
export const TEST_DATABASE_URL = process.env.MAILROOM_TEST_DATABASE_URL ?? '';
export const onPostgres = TEST_DATABASE_URL !== '';

export interface TestStore {
  /** Settings for startMailroom or a child process. */
  settings: { databaseUrl: string; dataDir: string };
  env: Record<string, string>;
  open(): Promise<Database>;
  dispose(): Promise<void>;
}

/**
 * Where test data directories live: /dev/shm (memory) where the machine has it. A PGlite data
 * directory is 41 MB in 1,200 files; copying the template onto a disk file system cost 1.3 s of
 * kernel time per store (and its writes and removal more), on tmpfs 0.1 s. The suite starts a
 * few hundred stores.
 */
const TEST_ROOT = ((): string => {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // no /dev/shm (macOS) or not writable: the system's temporary directory
  }
  return tmpdir();
})();

async function pgliteTemplate(): Promise<string> {
  const hash = createHash('sha256').update(listMigrations().map((m) => m.sql).join('\n')).digest('hex').slice(0, 12);
  const template = join(TEST_ROOT, `mailroom-test-template-${hash}`);
  if (existsSync(join(template, 'ready'))) return template;
  const building = `${template}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(building, { recursive: true });
  const db = await PGlite.create({ dataDir: join(building, 'pglite') });
  const wrapped: Database = {
    kind: 'pglite',
    query: async (sql, params) => (await db.query<never>(sql, params as unknown[])).rows,
    transaction: (fn) => db.transaction((tx) => fn({ query: async (sql, params) => (await tx.query<never>(sql, params as unknown[])).rows })),
    listen: async () => async () => {},
    holdLock: async () => ({ release: async () => {} }),
    close: () => db.close(),
  };
  await migrate(wrapped);
  await db.close();
  writeFileSync(join(building, 'ready'), '');
  try {
    renameSync(building, template);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another test process won the race
  }
  return template;
}

/** A store on the suite's database (PostgreSQL when MAILROOM_TEST_DATABASE_URL is set), or on PGlite when asked (tests that run on both in one run). */
export async function createTestStore(options: { pglite?: boolean } = {}): Promise<TestStore> {
  const dataDir = mkdtempSync(join(TEST_ROOT, 'mailroom-test-'));
  if (onPostgres && !options.pglite) {
    const name = `mr_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${name}`;
    const databaseUrl = url.toString();
    return {
      settings: { databaseUrl, dataDir },
      env: { MAILROOM_DATABASE_URL: databaseUrl, MAILROOM_DATA_DIR: dataDir },
      open: () => openDatabase({ databaseUrl, dataDir, dbPoolSize: 10 }),
      async dispose() {
        const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const template = await pgliteTemplate();
  cpSync(join(template, 'pglite'), join(dataDir, 'pglite'), { recursive: true });
  return {
    settings: { databaseUrl: '', dataDir },
    env: { MAILROOM_DATA_DIR: dataDir },
    open: () => openDatabase({ databaseUrl: '', dataDir, dbPoolSize: 10 }),
    async dispose() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Seals secrets for a store as a Mailroom started on it will open them (for rows written before
 * the app or a child starts): with its MAILROOM_ENCRYPTION_KEY, or without one, with the key
 * generated into its data directory.
 */
export function sealerOf(store: TestStore, encryptionKey: Buffer | null = null): Sealer {
  return new Sealer(loadKeyRing({ encryptionKey, encryptionKeysPrevious: [], dataDir: store.settings.dataDir }));
}

/** The single number a `SELECT count(*) AS n ...` returns. */
export async function countOf(db: Pick<Database, 'query'>, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ n: number }>(sql, params);
  if (!row) throw new Error(`no row from: ${sql}`);
  return Number(row.n);
}
