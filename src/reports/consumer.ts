import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { Logger } from '../shared/log.js';

const sql = sqlFile(new URL('./consumer.sql', import.meta.url), ['tryLock', 'pending', 'fold'] as const);

/** The advisory lock the consumers take turns on ("RP", 1): any constant other than the others'. */
const LOCK_NAMESPACE = 0x5250;
const LOCK_KEY = 1;

export interface ConsumerOptions {
  /** Events counted per transaction. */
  batchSize: number;
  /** How often an idle consumer looks at the backlog: reports lag events by about this much. */
  idleMs: number;
}

/**
 * 5,000 events a transaction on PostgreSQL; 1,000 on PGlite, whose one connection every other
 * statement waits for while a batch folds (about 50 ms for 1,000 events, at the same rate).
 */
export function defaultConsumerOptions(kind: Database['kind']): ConsumerOptions {
  return { batchSize: kind === 'pglite' ? 1_000 : 5_000, idleMs: 500 };
}

/**
 * Counts up to `batchSize` events of the backlog into the rollups, inside the caller's
 * transaction (which must commit for anything to count): the number counted, or null when
 * another consumer holds the turn (nothing was done).
 */
export async function foldInTransaction(tx: Queryable, batchSize: number): Promise<number | null> {
  const [lock] = await tx.query<{ locked: boolean }>(sql.tryLock, [LOCK_NAMESPACE, LOCK_KEY], 'reportsTryLock');
  if (!lock?.locked) return null;
  const [row] = await tx.query<{ taken: number }>(sql.fold, [batchSize], 'reportsFold');
  return row?.taken ?? 0;
}

/** foldInTransaction in a transaction of its own. */
export function foldBacklog(db: Database, batchSize: number): Promise<number | null> {
  return db.transaction((tx) => foldInTransaction(tx, batchSize));
}

/**
 * The report consumer (docs/REPORTS.md), run with the worker role: it folds the backlog of new
 * events into the rollup tables, a batch per transaction, back to back while there is work, and
 * looks again every `idleMs` when there is none. It never polls the events themselves: the
 * backlog is filled by a trigger in the transactions that write events, and an empty backlog
 * costs one index probe. Several processes may run it; they take turns (foldBacklog).
 */
export class ReportConsumer {
  private readonly options: ConsumerOptions;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = true;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    options: Partial<ConsumerOptions> = {},
  ) {
    this.options = { ...defaultConsumerOptions(db.kind), ...options };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  /**
   * Folds until the backlog is empty (tests and benchmarks: the reports are then exact up to
   * the events committed before the call). Waits its turn when another consumer holds it.
   */
  async catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      await this.running?.catch(() => 0);
      const pending = await this.db.query<{ pending: boolean }>(sql.pending, [], 'reportsPending');
      if (!pending[0]?.pending) return total;
      const counted = await this.run();
      if (counted === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      total += counted;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    let counted = 0;
    try {
      const [row] = await this.db.query<{ pending: boolean }>(sql.pending, [], 'reportsPending');
      if (row?.pending) counted = await this.run();
    } catch (error) {
      this.log.error({ err: error }, 'reports: could not fold the backlog; retrying');
    }
    // A full batch means more is waiting: go on at once (after other work of the event loop).
    this.schedule(counted >= this.options.batchSize ? 0 : this.options.idleMs);
  }

  /** One batch, never two at once in this process. */
  private run(): Promise<number> {
    this.running ??= foldBacklog(this.db, this.options.batchSize)
      .then((counted) => counted ?? 0)
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}
