import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';

const sql = sqlFile(new URL('./shredder.sql', import.meta.url), ['shredFinished'] as const);

const PAGE = 1_000;
const SWEEP_INTERVAL_MS = 2_000;
/**
 * How often at most the key table is rewritten. A plain VACUUM marks a deleted row's space free
 * but leaves its bytes in the page until something overwrites them; VACUUM FULL writes the live
 * rows to a new file and unlinks the old one, so a shredded key is gone from the data files.
 * The table holds only the keys of messages still in flight, so the rewrite takes milliseconds.
 */
const REWRITE_INTERVAL_MS = 60_000;

/** About 40,000 keys with their index: copied in tens of milliseconds. */
const MAX_REWRITE_BYTES = 8 * 1024 * 1024;

export interface ShredderOptions {
  /** MAILROOM_HIPAA_RETENTION_HOURS: content is kept this long after the final status. */
  retentionMs: number;
  intervalMs?: number;
  rewriteIntervalMs?: number;
}

/**
 * Destroys the data keys (and so the content) of HIPAA messages once they reach a final status
 * (src/hipaa/vault.ts). Runs with the worker role, every few seconds and when poked after
 * delivery results are recorded.
 */
export class Shredder {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /**
   * Rewrites still owed for keys shredded since: two. VACUUM FULL must keep a deleted row that a
   * transaction running at that moment may still see (on PostgreSQL, a worker's or another
   * account's statement in flight), so a key shredded just before a rewrite can be copied into
   * the new file; the next rewrite, a minute later, when no transaction of that time is left,
   * drops it. Seen in CI: the shredded keys were still in the rewritten file.
   */
  private rewritesOwed = 0;
  private lastRewriteAt = 0;

  constructor(private readonly db: Database, private readonly clock: Clock, private readonly log: Logger, private readonly options: ShredderOptions) {}

  start(): void {
    this.schedule(this.options.intervalMs ?? SWEEP_INTERVAL_MS);
  }

  /** Results were recorded: some messages may have reached a final status. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep to the end of what is due; returns the messages shredded. */
  async sweep(): Promise<number> {
    const before = new Date(this.clock.now().getTime() - this.options.retentionMs);
    let total = 0;
    for (;;) {
      const rows = await this.db.query<{ id: string }>(sql.shredFinished, [before, PAGE]);
      total += rows.length;
      if (rows.length < PAGE) break;
    }
    if (total > 0) this.rewritesOwed = 2;
    return total;
  }

  /**
   * Rewrites the key table so that shredded keys leave the data files (see REWRITE_INTERVAL_MS).
   * The rewrite locks the table, and with it every account's storing statement and every claim
   * (both read it), for as long as it copies: only while the table is small (the keys of a
   * normal flow of messages in flight); behind a large backlog it waits for the next sweep.
   * Returns whether it rewrote.
   */
  async rewriteKeys(): Promise<boolean> {
    const [size] = await this.db.query<{ bytes: number | string }>("SELECT pg_total_relation_size('message_keys') AS bytes");
    if (Number(size?.bytes ?? 0) > MAX_REWRITE_BYTES) return false;
    this.rewritesOwed = Math.max(0, this.rewritesOwed - 1);
    this.lastRewriteAt = this.clock.now().getTime();
    await this.db.query('VACUUM FULL message_keys');
    return true;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delayMs);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    this.running = (async () => {
      const shredded = await this.sweep();
      if (shredded > 0) this.log.info({ shredded }, 'HIPAA messages shredded');
      const rewriteDue = this.clock.now().getTime() - this.lastRewriteAt >= (this.options.rewriteIntervalMs ?? REWRITE_INTERVAL_MS);
      if (this.rewritesOwed > 0 && rewriteDue) await this.rewriteKeys();
    })().catch((error: unknown) => {
      this.log.warn({ err: error }, 'shredding HIPAA messages failed; retried at the next sweep');
    }).finally(() => {
      this.running = null;
      const again = this.again;
      this.again = false;
      this.schedule(again ? 0 : this.options.intervalMs ?? SWEEP_INTERVAL_MS);
    });
  }
}
