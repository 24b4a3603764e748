import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { nextStatus, type Status } from '../events/status.js';
import { ApiError } from '../shared/errors.js';

const sql = sqlFile(new URL('./queue.sql', import.meta.url), ['summaryByDestination', 'retryNow', 'cancel', 'appendEvent'] as const);

export interface DestinationSummary {
  /** The MX host set (or relay) of the last attempt; before any attempt, the recipient domain. */
  destination: string;
  /** False while no message here has been attempted (the destination is then the domain). */
  attempted: boolean;
  /** The recipient domains waiting for this destination. */
  domains: string[];
  queued: number;
  deferred: number;
  scheduled: number;
  inDelivery: number;
  oldestQueuedAt: string | null;
  nextAttemptAt: string | null;
}

interface SummaryRow {
  destination: string;
  attempted: boolean;
  domains: string[];
  queued: number;
  deferred: number;
  scheduled: number;
  in_delivery: number;
  oldest_queued_at: Date | null;
  next_attempt_at: Date | null;
}

/** Queue administration for one account: what waits where, retry now, cancel. */
export async function queueSummary(db: Database, accountId: number): Promise<DestinationSummary[]> {
  const rows = await db.query<SummaryRow & Record<string, unknown>>(sql.summaryByDestination, [accountId]);
  return rows.map((row) => ({
    destination: row.destination,
    attempted: row.attempted,
    domains: row.domains,
    queued: row.queued,
    deferred: row.deferred,
    scheduled: row.scheduled,
    inDelivery: row.in_delivery,
    oldestQueuedAt: row.oldest_queued_at?.toISOString() ?? null,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
  }));
}

/** Makes waiting messages due now; returns how many. */
export async function retryNow(db: Database, accountId: number, now: Date, filter: { domain?: string; destination?: string; messageId?: string }): Promise<number> {
  const rows = await db.query(sql.retryNow, [accountId, now, filter.domain?.toLowerCase() ?? null, filter.messageId ?? null, filter.destination ?? null]);
  return rows.length;
}

/**
 * Cancels a message that has not been handed over: it leaves the queue and ends REJECTED with
 * reason "canceled". A message a worker is delivering right now, or one already final, is a 409.
 */
export async function cancelMessage(db: Database, accountId: number, messageId: string, now: Date): Promise<Status> {
  return db.transaction(async (tx) => {
    const [removed] = await tx.query<{ status: Status }>(sql.cancel, [accountId, messageId, now]);
    if (!removed) {
      const [message] = await tx.query<{ status: Status }>('SELECT status FROM messages WHERE account_id = $1 AND id = $2', [accountId, messageId]);
      if (!message) throw new ApiError(404, 'NOT_FOUND', 'No email with this id.');
      throw new ApiError(409, 'NOT_CANCELABLE', `The email is ${message.status === 'QUEUED' || message.status === 'DEFERRED' ? 'being delivered right now' : message.status}; only queued, scheduled or deferred emails can be canceled.`);
    }
    const status = nextStatus(removed.status, 'REJECTED') ?? 'REJECTED';
    await tx.query(sql.appendEvent, [messageId, accountId, 'REJECTED', status, now, JSON.stringify({ reason: 'CANCELED' })]);
    return status;
  });
}
