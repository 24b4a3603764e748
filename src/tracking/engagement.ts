import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { Clock } from '../shared/clock.js';
import { machineAgent } from './machineRules.js';

const sql = sqlFile(new URL('./tracking.sql', import.meta.url), ['recordEngagement', 'unsubscribe'] as const);

/** Who made a hit on a tracking URL, as the HTTP request shows it. */
export interface Visitor {
  method: string;
  userAgent: string;
  ip: string;
}

export interface Recorded {
  /** False when the message no longer exists (nothing was recorded). */
  found: boolean;
  first: boolean;
}

/**
 * Engagement events: OPENED, CLICKED and UNSUBSCRIBED go into the one event log, from which the
 * message's webhooks and callbacks fan out (the trigger of migration 005) like every other
 * event. They never change the message's status (SPEC section 4).
 */
export class Engagement {
  constructor(private readonly db: Database, private readonly clock: Clock) {}

  async opened(messageId: string, visitor: Visitor): Promise<Recorded> {
    return this.record(messageId, 'OPENED', this.details('open', visitor), null);
  }

  async clicked(messageId: string, link: { index: number; url: string }, visitor: Visitor): Promise<Recorded> {
    return this.record(messageId, 'CLICKED', { url: link.url, link: link.index, ...this.details('click', visitor) }, link.url);
  }

  /** One-click (RFC 8058) or the confirmation page: the recipient leaves the account's mail. */
  async unsubscribed(messageId: string, visitor: Visitor, via: 'one-click' | 'page'): Promise<{ found: boolean; recorded: boolean }> {
    const details = { via, userAgent: visitor.userAgent, ip: visitor.ip };
    const [row] = await this.db.query<{ found: number; recorded: number }>(sql.unsubscribe, [messageId, this.clock.now(), JSON.stringify(details)], 'unsubscribe');
    return { found: (row?.found ?? 0) > 0, recorded: (row?.recorded ?? 0) > 0 };
  }

  private details(kind: 'open' | 'click', visitor: Visitor): Record<string, unknown> {
    const machine = machineAgent(kind, visitor.method, visitor.userAgent);
    return { userAgent: visitor.userAgent, ip: visitor.ip, machine: machine !== null, ...(machine ? { agent: machine } : {}) };
  }

  private async record(messageId: string, type: 'OPENED' | 'CLICKED', details: Record<string, unknown>, url: string | null): Promise<Recorded> {
    const [row] = await this.db.query<{ first: boolean }>(sql.recordEngagement, [messageId, type, this.clock.now(), JSON.stringify(details), url], 'recordEngagement');
    return { found: row !== undefined, first: row?.first ?? false };
  }
}
