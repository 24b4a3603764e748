import pg from 'pg';
import type { Database, Queryable, Row } from './database.js';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Same value shapes as PGlite: int8 and numeric as JS numbers. */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function statement(text: string, params: readonly unknown[] | undefined, name: string | undefined): pg.QueryConfig {
  return name ? { name, text, values: params as unknown[] | undefined } : { text, values: params as unknown[] | undefined };
}

export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: typeParsers });
  pool.on('error', () => {
    // An idle client lost its connection; the pool drops it and the next query opens another.
  });
  await pool.query('SELECT 1');
  const listeners = new Set<pg.Client>();

  return {
    kind: 'postgres',
    async query<R extends Row>(sql: string, params?: readonly unknown[], name?: string) {
      return (await pool.query<R>(statement(sql, params, name))).rows;
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const scoped: Queryable = {
          query: async <R extends Row>(sql: string, params?: readonly unknown[], name?: string) =>
            (await client.query<R>(statement(sql, params, name))).rows,
        };
        const result = await fn(scoped);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onNotify) {
      // A dedicated connection, reopened if it drops: a lost LISTEN would only cost latency
      // (workers also wake on a timer), but reconnecting keeps wake-ups prompt.
      let client: pg.Client | undefined;
      let stopped = false;
      const connect = async (): Promise<void> => {
        const next = new pg.Client({ connectionString: url, types: typeParsers });
        next.on('notification', (message) => {
          if (message.channel === channel) onNotify(message.payload ?? '');
        });
        next.on('error', () => {
          listeners.delete(next);
          if (!stopped) setTimeout(() => void connect().catch(() => {}), 1000).unref();
        });
        await next.connect();
        await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        client = next;
        listeners.add(next);
      };
      await connect();
      return async () => {
        stopped = true;
        if (client) {
          listeners.delete(client);
          await client.end().catch(() => {});
        }
      };
    },
    async holdLock(namespace, name) {
      // A connection of its own: a pooled one would hand the lock to whichever query comes next.
      // If it drops, the lock is gone (other processes may then take this one's leases, which
      // costs duplicates, never a loss); it is taken again on a new connection.
      let stopped = false;
      let client: pg.Client | undefined;
      const lock = async (): Promise<boolean> => {
        const next = new pg.Client({ connectionString: url, types: typeParsers });
        next.on('error', () => {
          listeners.delete(next);
          if (!stopped) setTimeout(() => void lock().catch(() => {}), 1000).unref();
        });
        await next.connect();
        const [row] = (await next.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS held', [namespace, name])).rows;
        if (!row?.held) {
          await next.end().catch(() => {});
          return false;
        }
        client = next;
        listeners.add(next);
        return true;
      };
      if (!(await lock())) return null;
      return {
        async release() {
          stopped = true;
          if (client) {
            listeners.delete(client);
            await client.end().catch(() => {});
          }
        },
      };
    },
    async close() {
      await Promise.all([...listeners].map((client) => client.end().catch(() => {})));
      listeners.clear();
      await pool.end();
    },
  };
}
