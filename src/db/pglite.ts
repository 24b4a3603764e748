import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import lockfile from 'proper-lockfile';
import type { Database, Queryable, Row } from './database.js';
import { sqlLiteral } from './literal.js';
import { durableStartParams, syncTree, WalSync, type NodeFsType } from './walSync.js';

/** The durability layer of each open PGlite database on disk, for durabilityCounts(). */
const walSyncs = new WeakMap<Database, WalSync>();

/** How many syncs a PGlite database on disk has made (WAL at commits, other files at checkpoints); null for others. */
export function durabilityCounts(db: Database): { walSyncs: number; otherSyncs: number } | null {
  const walSync = walSyncs.get(db);
  return walSync ? { ...walSync.counts } : null;
}

import { DataDirLockedError } from './lockedError.js';

export { DataDirLockedError };

const parsers = { [types.INT8]: (value: string) => Number(value) };

/**
 * PGlite is one Postgres backend in this process: one connection. PGlite queues every query
 * and transaction behind its own mutex, so concurrent callers are serialised safely; a query
 * issued while a transaction is open waits for it instead of joining it.
 *
 * The directory is locked (proper-lockfile, with stale-lock detection) because two processes
 * writing one PGlite directory would corrupt it. Every statement's result is returned only once
 * what it committed is on disk (walSync.ts: PGlite on its own never fsyncs).
 */
export async function openPglite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  let release: () => Promise<void>;
  try {
    // A process killed without releasing leaves the lock behind; it goes stale 5 s after the
    // last refresh, so a restart after a crash waits that long rather than failing.
    release = await lockfile.lock(dataDir, {
      lockfilePath: join(dataDir, 'mailroom.lock'),
      stale: 5_000,
      update: 1_000,
      retries: { retries: 8, minTimeout: 1_000, maxTimeout: 1_000, factor: 1 },
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new DataDirLockedError(`data directory ${dataDir} is in use by another Mailroom process`);
    }
    throw error;
  }
  const pgDataDir = join(dataDir, 'pglite');
  const fresh = !existsSync(join(pgDataDir, 'PG_VERSION'));
  const walSync = new WalSync();
  let pg: PGlite;
  try {
    pg = await PGlite.create({ fs: new DurableNodeFS(pgDataDir, walSync), startParams: durableStartParams(PGlite.defaultStartParams), parsers });
    if (fresh) syncTree(pgDataDir);
  } catch (error) {
    await release();
    throw error;
  }
  return wrap(pg, release, walSync).then((db) => {
    walSyncs.set(db, walSync);
    return db;
  }, async (error: unknown) => {
    await pg.close();
    await release();
    throw error;
  });
}

/** An in-memory PGlite (no lock, nothing on disk), for throwaway tools. */
export async function openMemoryPglite(): Promise<Database> {
  return wrap(await PGlite.create({ parsers }), async () => {}, null);
}

/** Emscripten module options, as PGlite's filesystems take and return them (the type is not exported). */
type PostgresMod = Parameters<NodeFS['init']>[1] extends Partial<infer M> ? M : never;

/** PGlite's Node filesystem with its fsync made real (walSync.ts) before Postgres starts. */
class DurableNodeFS extends NodeFS {
  constructor(dataDir: string, private readonly walSync: WalSync) {
    super(dataDir);
  }

  override async init(pg: PGlite, options: Partial<PostgresMod>): Promise<{ emscriptenOpts: Partial<PostgresMod> }> {
    const { emscriptenOpts } = await super.init(pg, options);
    const install = (mod: PostgresMod) => this.walSync.install(mod.NODEFS as unknown as NodeFsType);
    return { emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun ?? []), install] } };
  }
}

/**
 * Hot statements (those given a name) are prepared once with PREPARE and run with EXECUTE, their
 * parameters written as literals (literal.ts). PGlite's query() parses and plans every statement
 * again, and planning the delivery statements (a few CTEs each) cost more than running them:
 * about 1 ms per call, on the thread that also does the SMTP work. EXECUTE reuses the plan.
 */
async function prepared<R extends Row>(pg: PGlite, statements: Map<string, { sql: string; ready: Promise<unknown> }>, name: string, sql: string, params: readonly unknown[]): Promise<R[]> {
  let statement = statements.get(name);
  if (statement === undefined) {
    if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw new Error(`statement name ${JSON.stringify(name)} is not an identifier`);
    // Kept as a promise at once: concurrent first calls must share one PREPARE (a second one
    // fails with "prepared statement already exists").
    statement = { sql, ready: pg.query(`PREPARE ${name} AS ${sql}`) };
    statements.set(name, statement);
    statement.ready.catch(() => statements.delete(name));
  } else if (statement.sql !== sql) {
    throw new Error(`statement name ${name} is used for two different statements`);
  }
  await statement.ready;
  const args = params.length > 0 ? `(${params.map(sqlLiteral).join(', ')})` : '';
  return (await pg.query<R>(`EXECUTE ${name}${args}`)).rows;
}

async function wrap(pg: PGlite, release: () => Promise<void>, walSync: WalSync | null): Promise<Database> {
  const [setting] = (await pg.query<{ standard_conforming_strings: string }>('SHOW standard_conforming_strings')).rows;
  if (setting?.standard_conforming_strings !== 'on') throw new Error('PGlite: standard_conforming_strings must be on');
  const run = async <R extends Row>(target: Pick<PGlite, 'query'>, sql: string, params?: readonly unknown[]) =>
    (await target.query<R>(sql, params as unknown[] | undefined)).rows;
  const preparedStatements = new Map<string, { sql: string; ready: Promise<unknown> }>();
  /** A statement's result is returned only once what it committed is on disk (walSync.ts). */
  const durable = async <T>(work: Promise<T>): Promise<T> => {
    const result = await work;
    if (walSync) await walSync.flush();
    return result;
  };
  let closed = false;
  return {
    kind: 'pglite',
    query: (sql, params, name) => durable(name && params ? prepared(pg, preparedStatements, name, sql, params) : run(pg, sql, params)),
    transaction: (fn) =>
      durable(
        pg.transaction(async (tx) => {
          const scoped: Queryable = { query: (sql, params) => run(tx, sql, params) };
          return fn(scoped);
        }),
      ),
    async listen(channel, onNotify) {
      const unsubscribe = await pg.listen(channel, onNotify);
      return async () => {
        if (!closed) await unsubscribe();
      };
    },
    // The data directory is locked to this process: there is no other session to exclude.
    holdLock: async () => ({ release: async () => {} }),
    async close() {
      if (closed) return;
      closed = true;
      await pg.close();
      await release();
    },
  };
}
