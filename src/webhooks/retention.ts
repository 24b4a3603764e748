import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';

const sql = sqlFile(new URL('./retention.sql', import.meta.url), ['pruneFinished'] as const);

/** Rows deleted per statement: short transactions, so the outbox's writers never wait long. */
const PRUNE_BATCH = 5_000;

/**
 * The outbox and its attempts grow with every event and endpoint; what is finished (delivered,
 * or given up) is kept MAILROOM_WEBHOOK_RETENTION_DAYS for the attempts lists and redelivery,
 * then deleted. Pending deliveries are never deleted, however old (a disabled webhook's wait).
 * Returns the deliveries deleted.
 */
export async function pruneFinishedDeliveries(db: Database, before: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await db.query<{ deleted: number }>(sql.pruneFinished, [before, PRUNE_BATCH], 'webhookPruneFinished');
    const deleted = row?.deleted ?? 0;
    total += deleted;
    if (deleted < PRUNE_BATCH) return total;
  }
}
