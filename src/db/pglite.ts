import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import lockfile from 'proper-lockfile';
import type { Database, Queryable, Row } from './database.js';
import { reviveError, type FromWorker, type ToWorker } from './pgliteProtocol.js';

/** Another process already holds the data directory. */
export class DataDirLockedError extends Error {}

/**
 * PGlite is one Postgres backend, compiled to WebAssembly: one connection, queries queued behind
 * its own mutex, so concurrent callers are serialised safely (a query issued while a transaction
 * is open waits for it instead of joining it).
 *
 * It runs in a worker thread of its own (pgliteWorker.ts), not on the event loop that serves
 * HTTP, SMTP and deliveries: the engine costs as much CPU per message as everything else
 * together, and on the main thread it held every connection's work back while it ran. Queries,
 * results and NOTIFYs cross by postMessage (structured clone: Dates, numbers, objects and bytes
 * arrive as they left).
 *
 * The directory is locked (proper-lockfile, with stale-lock detection) because two processes
 * writing one PGlite directory would corrupt it.
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
  try {
    return await startEngine(join(dataDir, 'pglite'), release);
  } catch (error) {
    await release();
    throw error;
  }
}

/** An in-memory PGlite (no lock, nothing on disk), for throwaway tools. */
export function openMemoryPglite(): Promise<Database> {
  return startEngine(null, async () => {});
}

/** The worker's module beside this one: .ts when running from source (tsx), .js when built. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./pgliteWorker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/**
 * Node 20 loads a worker's entry module before `--import tsx` has registered its loader in that
 * thread, so from source the worker starts with a line that registers tsx and then imports it.
 */
function spawnWorker(workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

type Pending = { resolve: (rows: Row[]) => void; reject: (error: Error) => void };
type Request = ToWorker extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

async function startEngine(dataDir: string | null, release: () => Promise<void>): Promise<Database> {
  const worker = spawnWorker({ dataDir });
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let nextId = 1;
  let nextTx = 1;
  let broken: Error | null = null;
  let closed = false;

  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromWorker) => {
      switch (message.kind) {
        case 'ready':
          resolve();
          break;
        case 'fatal':
          reject(reviveError(message.error));
          break;
        case 'notify':
          for (const listener of listeners.get(message.channel) ?? []) listener(message.payload);
          break;
        case 'result':
        case 'error': {
          const waiter = pending.get(message.id);
          pending.delete(message.id);
          if (message.kind === 'result') waiter?.resolve(message.rows);
          else waiter?.reject(reviveError(message.error));
          break;
        }
      }
    });
    const fail = (error: Error) => {
      broken = error;
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!closed) fail(new Error(`the PGlite thread exited (code ${code})`));
    });
  });

  const call = (request: Request): Promise<Row[]> => {
    if (broken) return Promise.reject(broken);
    const id = nextId++;
    return new Promise<Row[]>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as ToWorker);
    });
  };

  try {
    await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  return {
    kind: 'pglite',
    query: <R extends Row>(sql: string, params?: readonly unknown[], name?: string) => call({ kind: 'query', sql, params, name }) as Promise<R[]>,
    async transaction(fn) {
      const tx = nextTx++;
      await call({ kind: 'begin', tx });
      const scoped: Queryable = { query: <R extends Row>(sql: string, params?: readonly unknown[]) => call({ kind: 'query', sql, params, tx }) as Promise<R[]> };
      let result;
      try {
        result = await fn(scoped);
      } catch (error) {
        await call({ kind: 'end', tx, commit: false }).catch(() => undefined);
        throw error;
      }
      await call({ kind: 'end', tx, commit: true });
      return result;
    },
    async listen(channel, onNotify) {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        await call({ kind: 'listen', channel });
      }
      set.add(onNotify);
      return async () => {
        set.delete(onNotify);
        if (set.size === 0 && listeners.get(channel) === set) {
          listeners.delete(channel);
          if (!closed) await call({ kind: 'unlisten', channel });
        }
      };
    },
    async close() {
      if (closed) return;
      try {
        if (!broken) await call({ kind: 'close' });
      } finally {
        closed = true;
        await worker.terminate();
        await release();
      }
    },
  };
}
