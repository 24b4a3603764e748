import type { Queryable } from '../db/database.js';

export const QUEUE_CHANNEL = 'mailroom_queue';

/**
 * Wakes the workers (in every process) after new work was committed. A NOTIFY takes a
 * database-wide lock at commit, so one per ingest batch would serialise the batches; instead
 * notifications coalesce: at most one is in flight, and pokes that arrive meanwhile are answered
 * by one more after it. Sent after the commit, so a woken worker always finds the rows.
 */
export class QueueNotifier {
  private inFlight = false;
  private again = false;

  constructor(private readonly db: Queryable) {}

  poke(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    this.db
      .query('SELECT pg_notify($1, $2)', [QUEUE_CHANNEL, ''])
      .catch(() => {
        // Workers also wake when the next row falls due or on their idle timer: a lost wake-up
        // delays delivery by seconds at worst, and must not fail an accepted request.
      })
      .finally(() => {
        this.inFlight = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }
}
