import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Batcher } from '../shared/batcher.js';
import type { Clock } from '../shared/clock.js';
import { machineAgent } from './machineRules.js';

const sql = sqlFile(new URL('./tracking.sql', import.meta.url), ['recordEngagements', 'unsubscribe'] as const);

/** Who made a hit on a tracking URL, as the HTTP request shows it. */
export interface Visitor {
  method: string;
  userAgent: string;
  ip: string;
}

interface Hit {
  message_id: string;
  type: 'OPENED' | 'CLICKED';
  at: Date;
  details: Record<string, unknown>;
  /** For a click, its target: first-or-repeat is per link. */
  url: string | null;
}

/**
 * Engagement events: OPENED, CLICKED and UNSUBSCRIBED go into the one event log, from which the
 * message's webhooks and callbacks fan out (the trigger of migration 005) like every other
 * event. They never change the message's status (SPEC section 4).
 *
 * Opens and clicks are the hot path (a campaign's pixels load in bursts): they are written by a
 * group-commit batcher, one statement and one commit for all the hits that arrive together, as
 * the API's messages are. Each request still waits for its own commit before it is answered.
 */
export class Engagement {
  private readonly hits: Batcher<Hit, boolean>;

  constructor(private readonly db: Database, private readonly clock: Clock) {
    this.hits = new Batcher<Hit, boolean>({
      maxBatch: 500,
      maxConcurrent: db.kind === 'postgres' ? 2 : 1,
      flush: async (batch) => {
        const rows = await db.query<{ i: number }>(sql.recordEngagements, [JSON.stringify(batch.map((hit, i) => ({ ...hit, i })))], 'recordEngagements');
        const found = new Set(rows.map((row) => row.i));
        return batch.map((_hit, i) => found.has(i));
      },
    });
  }

  /** False when the message no longer exists (nothing was recorded). */
  opened(messageId: string, visitor: Visitor): Promise<boolean> {
    return this.hits.submit({ message_id: messageId, type: 'OPENED', at: this.clock.now(), details: this.details('open', visitor), url: null });
  }

  clicked(messageId: string, link: { index: number; url: string }, visitor: Visitor): Promise<boolean> {
    return this.hits.submit({ message_id: messageId, type: 'CLICKED', at: this.clock.now(), details: { url: link.url, link: link.index, ...this.details('click', visitor) }, url: link.url });
  }

  /** One-click (RFC 8058) or the confirmation page: the recipient leaves the account's mail. */
  async unsubscribed(messageId: string, visitor: Visitor, via: 'one-click' | 'page'): Promise<{ found: boolean; recorded: boolean }> {
    const details = { via, userAgent: visitor.userAgent, ip: visitor.ip };
    const [row] = await this.db.query<{ found: number; recorded: number }>(sql.unsubscribe, [messageId, this.clock.now(), JSON.stringify(details)], 'unsubscribe');
    return { found: (row?.found ?? 0) > 0, recorded: (row?.recorded ?? 0) > 0 };
  }

  /** Resolves when every submitted hit is written (at shutdown). */
  drain(): Promise<void> {
    return this.hits.drain();
  }

  private details(kind: 'open' | 'click', visitor: Visitor): Record<string, unknown> {
    const machine = machineAgent(kind, visitor.method, visitor.userAgent);
    return { userAgent: visitor.userAgent, ip: visitor.ip, machine: machine !== null, ...(machine ? { agent: machine } : {}) };
  }
}
