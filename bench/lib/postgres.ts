import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { UsageError } from './args.js';
import { onCleanup } from './cleanup.js';

/** The server benchmarks create their scratch databases on (MAILROOM_BENCH_DATABASE_URL overrides). */
export const BENCH_SERVER_URL = process.env.MAILROOM_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BENCH_SERVER_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase {
  name: string;
  url: string;
  /** Drops the database (idempotent). */
  drop(): Promise<void>;
}

/** A fresh, empty database `mr_bench_<random>` on the bench server, dropped by `drop()` or on interrupt. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `mr_bench_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(BENCH_SERVER_URL);
  url.pathname = `/${name}`;
  const drop = onCleanup(async () => {
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  return { name, url: url.toString(), drop };
}

export async function serverVersion(): Promise<string> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  });
}

/** Settings that decide what a commit costs, for the report. */
export async function durabilitySettings(): Promise<Record<string, string>> {
  return withAdmin(async (client) => {
    const names = ['fsync', 'synchronous_commit', 'wal_sync_method', 'commit_delay', 'max_connections'];
    const { rows } = await client.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [names]);
    return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
  });
}

/** Transactions committed in a database so far (pg_stat_database; a backend reports its own at the latest when it exits). */
export async function commitCount(database: string): Promise<number> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ commits: string }>('SELECT xact_commit::text AS commits FROM pg_stat_database WHERE datname = $1', [database]);
    return Number(rows[0]?.commits ?? 0);
  });
}

/**
 * The report line about the bench server (version, host, durability settings); a UsageError
 * naming the way out (`leaveOut`, e.g. "--targets=echo,pglite") when it cannot be reached.
 */
export async function describeBenchServer(leaveOut: string): Promise<string> {
  const server = new URL(BENCH_SERVER_URL);
  try {
    const [settings, version] = await Promise.all([durabilitySettings(), serverVersion()]);
    return `postgresql: ${version} at ${server.host}, ${Object.entries(settings).map(([name, value]) => `${name}=${value}`).join(', ')}`;
  } catch (error) {
    throw new UsageError(`cannot reach PostgreSQL at ${server.host} (${(error as Error).message}): start it, set MAILROOM_BENCH_DATABASE_URL, or leave it out with ${leaveOut}`);
  }
}

/** The server processes of the sessions connected to a database now (pg_stat_activity). */
export async function backendPids(database: string): Promise<number[]> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
    return rows.map((row) => row.pid);
  });
}
