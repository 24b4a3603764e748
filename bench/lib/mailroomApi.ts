import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { onCleanup } from './cleanup.js';
import { profileFlags } from './measure.js';
import { backendPids, commitCount, createScratchDatabase, type ScratchDatabase } from './postgres.js';
import { ROOT } from './preamble.js';
import { childEnv, freePort, startChild, waitForOk, type Child } from './processes.js';

/** The seed's example request (SPEC section 3), the body of the HTTP ingest benchmarks. */
export const SEED_REQUEST = {
  to: 'john.doe@example.com', from: 'promo@elipackage.com', text: 'we have a new offer this week', subject: 'EliPackage Promo',
  externalId: '123456789abcde', clientId: '48118112', callbacks: ['https://hooks.example.com/mail'], alias: 'New User',
};

export type StoreKind = 'postgres' | 'pglite';
export const STORE_LABELS: Record<StoreKind, string> = { postgres: 'PostgreSQL', pglite: 'PGlite' };

export interface MailroomApiOptions {
  kind: StoreKind;
  /** MAILROOM_* settings on top of the bench's own (host, port, key, data directory, database). */
  env?: Record<string, string>;
  /** Run under node --cpu-prof, writing into this directory. */
  profileDir?: string | null;
  /** PostgreSQL: this database instead of a fresh scratch one (its drop() is called by close()). */
  database?: ScratchDatabase;
}

/**
 * `node dist/cli/main.js start --roles api` on an empty store of its own: a scratch PostgreSQL
 * database (dropped afterwards) or a PGlite data directory (removed afterwards), with a fresh
 * bootstrap API key and warnings logged. The store is read after `stop()`, so that every
 * acknowledged message can be counted against what is there.
 */
export class MailroomApi {
  private constructor(
    readonly kind: StoreKind,
    readonly base: string,
    readonly key: string,
    readonly child: Child,
    readonly database: ScratchDatabase | null,
    readonly dataDir: string,
    readonly startupMs: number,
    private readonly dispose: () => Promise<void>,
  ) {}

  static async start(options: MailroomApiOptions): Promise<MailroomApi> {
    const { kind } = options;
    const dataDir = mkdtempSync(join(tmpdir(), `mailroom-bench-${kind}-`));
    const removeDataDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    let database: ScratchDatabase | null = null;
    let child: Child | null = null;
    const dispose = async () => {
      await child?.stop();
      await database?.drop();
      await removeDataDir();
    };
    try {
      database = kind === 'postgres' ? (options.database ?? (await createScratchDatabase())) : null;
      const port = await freePort();
      const key = `mr_bench_${randomBytes(18).toString('hex')}`;
      const env: Record<string, string> = {
        MAILROOM_HOST: '127.0.0.1',
        MAILROOM_HTTP_PORT: String(port),
        MAILROOM_BOOTSTRAP_API_KEY: key,
        MAILROOM_LOG_LEVEL: 'warn',
        MAILROOM_DATA_DIR: dataDir,
        ...(database ? { MAILROOM_DATABASE_URL: database.url } : {}),
        ...options.env,
      };
      const args = [...profileFlags(options.profileDir ?? null), 'dist/cli/main.js', 'start', '--roles', 'api'];
      child = startChild(`mailroom (${kind})`, process.execPath, args, { cwd: ROOT, env: childEnv(env) });
      const base = `http://127.0.0.1:${port}`;
      const startupMs = await waitForOk(`${base}/readyz`, child, 180_000);
      return new MailroomApi(kind, base, key, child, database, dataDir, startupMs, dispose);
    } catch (error) {
      await dispose();
      throw error;
    }
  }

  /** The headers of an authenticated JSON request. */
  get headers(): Record<string, string> {
    return { 'content-type': 'application/json', authorization: `Bearer ${this.key}` };
  }

  /** An authenticated JSON request; throws unless the answer is 2xx. */
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.base}${path}`, { method, headers: this.headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    if (response.status < 200 || response.status > 299) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** PostgreSQL transactions committed in the scratch database so far (null on PGlite). */
  async commits(): Promise<number | null> {
    return this.database ? commitCount(this.database.name) : null;
  }

  /** The PostgreSQL backends of the scratch database now (none on PGlite). */
  async backends(): Promise<number[]> {
    return this.database ? backendPids(this.database.name) : [];
  }

  /**
   * SIGTERM (stop accepting, drain the group-commit writers, close the store), then what went
   * wrong: an exit code other than 0, lines logged at warn or above.
   */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    const exit = await this.child.stop('SIGTERM');
    if (exit.code !== 0) problems.push(`mailroom exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    const logged = this.child.output();
    if (logged.lines > 0) problems.push(`mailroom logged ${logged.lines} line(s) at warn or above; the last: ${logged.tail.slice(-3).join(' | ')}`);
    return problems;
  }

  /** Runs `sql` on the store; after `stop()` (PGlite's data directory has one owner at a time). */
  async query<T>(sql: string): Promise<T[]> {
    if (this.database) {
      const client = new pg.Client({ connectionString: this.database.url });
      await client.connect();
      try {
        return (await client.query(sql)).rows as T[];
      } finally {
        await client.end();
      }
    }
    // Imported here, so that a benchmark that never opens PGlite does not load it.
    const { openPglite } = await import('../../src/db/pglite.js');
    const db = await openPglite(this.dataDir);
    try {
      return await db.query<T & Record<string, unknown>>(sql);
    } finally {
      await db.close();
    }
  }

  /** Stops the child if it still runs, drops the database, removes the data directory. */
  close(): Promise<void> {
    return this.dispose();
  }
}
