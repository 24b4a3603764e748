/**
 * The one database interface the rest of Mailroom sees. Two implementations, PGlite (embedded)
 * and PostgreSQL (pg), speak the same SQL dialect; int8 and timestamptz come back the same way
 * on both (numbers and Dates).
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  /**
   * `name` marks a hot statement: PostgreSQL prepares it once per connection instead of parsing
   * and planning it on every call; PGlite runs it as a prepared statement too (pglite.ts).
   */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[], name?: string): Promise<R[]>;
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn inside BEGIN/COMMIT; a throw rolls back. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on a channel; returns an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Takes a session-level advisory lock on (namespace, hashtext(name)) on a connection of its
   * own, held until released or until this process dies: the database then frees it at once,
   * which is how other processes learn that this one is gone. Null when another session holds it.
   * On PGlite (one process owns the data directory) it is always granted.
   */
  holdLock(namespace: number, name: string): Promise<HeldLock | null>;
  close(): Promise<void>;
}
