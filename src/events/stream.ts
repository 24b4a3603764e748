import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { eventPayload, type EventFields, type EventPayload } from '../webhooks/payload.js';

const sql = sqlFile(new URL('./stream.sql', import.meta.url), ['eventsAfter', 'lastEventId'] as const);

/**
 * How long an event id stays open to a late commit. Ids come from a sequence when a row is
 * written, but transactions commit in their own order: under load a batch that took id 100 can
 * commit after one that took 101. A reader that only asks for ids above the last it saw would
 * skip 100 for good. So the reader asks again from the highest id it saw this long ago, and skips
 * the ones it has already sent: an event committed up to this late is still streamed, once.
 */
const LATE_COMMIT_MS = 2_000;
const BATCH = 500;

/**
 * Reads an account's event log forward, for `GET /events/stream`: each read returns the events
 * not yet returned, in id order, whatever order they committed in (within LATE_COMMIT_MS).
 */
export class EventCursor {
  /** Ids returned in the last LATE_COMMIT_MS, with when they were first seen. */
  private readonly recent = new Map<number, number>();
  /** Every event at or below this id has been returned or was before the start. */
  private settled: number;

  private constructor(private readonly db: Database, private readonly accountId: number, after: number, private readonly types: readonly string[]) {
    this.settled = after;
  }

  /** Starts after `after` (a Last-Event-ID), or at the end of the log when null. */
  static async open(db: Database, accountId: number, after: number | null, types: readonly string[]): Promise<EventCursor> {
    const start = after ?? Number((await db.query<{ id: string }>(sql.lastEventId))[0]?.id ?? 0);
    return new EventCursor(db, accountId, start, types);
  }

  async next(now = Date.now()): Promise<EventPayload[]> {
    // Ids seen long enough ago are settled: nothing below them can still commit (within the window).
    let highestSettled = this.settled;
    for (const [id, seenAt] of this.recent) {
      if (now - seenAt >= LATE_COMMIT_MS) {
        highestSettled = Math.max(highestSettled, id);
        this.recent.delete(id);
      }
    }
    this.settled = highestSettled;
    const sent = [...this.recent.keys()];
    const rows = await this.db.query<EventFields & Record<string, unknown>>(sql.eventsAfter, [this.accountId, this.settled, this.types, BATCH, sent], 'eventsAfter');
    const fresh: EventPayload[] = [];
    for (const row of rows) {
      const id = Number(row.event_id);
      if (id <= this.settled || this.recent.has(id)) continue;
      this.recent.set(id, now);
      fresh.push(eventPayload({ ...row, event_id: id }));
    }
    return fresh;
  }
}
