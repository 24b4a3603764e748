/**
 * The PGlite engine, in a worker thread of its own (see pglite.ts for why). Messages from the
 * main thread (protocol in pgliteProtocol.ts) are queries, transaction boundaries and LISTENs;
 * PGlite's own mutex serialises them exactly as it did on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { sqlLiteral } from './literal.js';
import type { FromWorker, ToWorker } from './pgliteProtocol.js';
import { serializeError } from './pgliteProtocol.js';

const port = parentPort!;
const { dataDir } = workerData as { dataDir: string | null };
const parsers = { [types.INT8]: (value: string) => Number(value) };

/** Params crossed the thread boundary by structured clone, which turns a Buffer into a Uint8Array. */
function revive(params: readonly unknown[] | undefined): unknown[] | undefined {
  return params?.map((value) => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value));
}

function send(message: FromWorker): void {
  port.postMessage(message);
}

class Rollback extends Error {}

interface OpenTransaction {
  handle: Transaction;
  finish: (commit: boolean) => void;
  done: Promise<void>;
}

async function main(): Promise<void> {
  const pg = await PGlite.create(dataDir ? { dataDir, parsers } : { parsers });
  const [setting] = (await pg.query<{ standard_conforming_strings: string }>('SHOW standard_conforming_strings')).rows;
  if (setting?.standard_conforming_strings !== 'on') throw new Error('PGlite: standard_conforming_strings must be on');
  const statements = new Map<string, string>();
  const transactions = new Map<number, OpenTransaction>();
  const listeners = new Map<string, () => Promise<void>>();

  /**
   * Hot statements (those given a name) are prepared once with PREPARE and run with EXECUTE, their
   * parameters written as literals (literal.ts). PGlite's query() parses and plans every statement
   * again, and planning the delivery statements (a few CTEs each) cost more than running them.
   */
  async function prepared(name: string, sql: string, params: readonly unknown[]) {
    const known = statements.get(name);
    if (known === undefined) {
      if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw new Error(`statement name ${JSON.stringify(name)} is not an identifier`);
      await pg.query(`PREPARE ${name} AS ${sql}`);
      statements.set(name, sql);
    } else if (known !== sql) {
      throw new Error(`statement name ${name} is used for two different statements`);
    }
    const args = params.length > 0 ? `(${params.map(sqlLiteral).join(', ')})` : '';
    return (await pg.query(`EXECUTE ${name}${args}`)).rows;
  }

  function begin(tx: number): Promise<void> {
    return new Promise((started, failed) => {
      let finish!: (commit: boolean) => void;
      const decided = new Promise<boolean>((resolve) => (finish = resolve));
      const done = pg
        .transaction(async (handle) => {
          transactions.set(tx, { handle, finish, done });
          started();
          if (!(await decided)) throw new Rollback();
        })
        .then(
          () => undefined,
          (error: unknown) => {
            if (!(error instanceof Rollback)) throw error;
          },
        )
        .finally(() => transactions.delete(tx));
      // A BEGIN that fails never reaches the callback.
      done.catch(failed);
    });
  }

  async function handle(message: ToWorker): Promise<unknown> {
    switch (message.kind) {
      case 'query': {
        const params = revive(message.params);
        if (message.tx !== undefined) {
          const open = transactions.get(message.tx);
          if (!open) throw new Error(`no open transaction ${message.tx}`);
          return (await open.handle.query(message.sql, params)).rows;
        }
        if (message.name && params) return prepared(message.name, message.sql, params);
        return (await pg.query(message.sql, params)).rows;
      }
      case 'begin':
        await begin(message.tx);
        return [];
      case 'end': {
        const open = transactions.get(message.tx);
        if (!open) throw new Error(`no open transaction ${message.tx}`);
        open.finish(message.commit);
        await open.done;
        return [];
      }
      case 'listen': {
        if (!listeners.has(message.channel)) {
          listeners.set(message.channel, await pg.listen(message.channel, (payload) => send({ kind: 'notify', channel: message.channel, payload })));
        }
        return [];
      }
      case 'unlisten': {
        const unsubscribe = listeners.get(message.channel);
        listeners.delete(message.channel);
        if (unsubscribe) await unsubscribe();
        return [];
      }
      case 'close':
        await pg.close();
        return [];
    }
  }

  port.on('message', (message: ToWorker) => {
    handle(message).then(
      (rows) => {
        send({ kind: 'result', id: message.id, rows: rows as Record<string, unknown>[] });
        if (message.kind === 'close') port.close();
      },
      (error: unknown) => send({ kind: 'error', id: message.id, error: serializeError(error) }),
    );
  });
  send({ kind: 'ready' });
}

main().catch((error: unknown) => send({ kind: 'fatal', error: serializeError(error) }));
