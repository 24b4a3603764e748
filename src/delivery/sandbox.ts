import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { DeliveryReport, OutboundMessage, Transport } from './transport.js';

const sql = sqlFile(new URL('./sandbox.sql', import.meta.url), ['listCaught', 'caughtById', 'caughtByMessage', 'newestCaughtOfMessage'] as const);

/**
 * The default transport: messages land in a catcher table that the API and console show. The
 * catcher's row is not written here but handed back with the report (DeliveryReport.caught), and
 * the worker writes it in the statement that records the result: a crash between "caught" and
 * "recorded" would otherwise catch the message again on the retry, with no event for the first.
 */
export class SandboxTransport implements Transport {
  readonly name = 'sandbox';

  async deliver(message: OutboundMessage): Promise<DeliveryReport> {
    const reply = '250 2.0.0 Ok: caught by the sandbox';
    return {
      acceptedAs: 'delivered',
      recipients: message.envelope.to.map((address) => ({
        address, reply, outcome: 'delivered', code: 250, enhancedCode: '2.0.0', reason: null, bounceClass: null, retryAfterMs: null, rule: 'sandbox',
      })),
      caught: {
        // A HIPAA account's message: the catcher records that it was caught, never what it said
        // nor to whom.
        envelope_from: message.returnPath(message.envelope.to),
        envelope_to: message.hipaa ? [] : message.envelope.to,
        subject: message.hipaa ? '' : message.subject,
        raw: message.hipaa ? '' : message.raw.toString('utf8'),
      },
    };
  }

  async close(): Promise<void> {}
}

export interface CaughtSummary {
  id: number;
  message_id: string;
  envelope_from: string;
  envelope_to: string[];
  subject: string;
  received_at: Date;
  size: number;
}

export async function listCaught(db: Database, accountId: number, before: number | null, limit: number): Promise<CaughtSummary[]> {
  return db.query<CaughtSummary & Record<string, unknown>>(sql.listCaught, [accountId, before, limit]);
}

export type CaughtMessage = Omit<CaughtSummary, 'size'> & { raw: string };

export async function caughtById(db: Database, accountId: number, id: number): Promise<CaughtMessage | undefined> {
  const [row] = await db.query<CaughtMessage & Record<string, unknown>>(sql.caughtById, [accountId, id]);
  return row;
}

export async function caughtByMessage(db: Database, accountId: number, messageId: string): Promise<CaughtMessage[]> {
  return db.query<CaughtMessage & Record<string, unknown>>(sql.caughtByMessage, [accountId, messageId]);
}

/**
 * The newest caught copy of an email (its message id, as POST /emails answers it): a message
 * retried after a crash, or sent again by a test, may have been caught more than once.
 */
export async function newestCaughtOfMessage(db: Database, accountId: number, messageId: string): Promise<CaughtMessage | undefined> {
  const [row] = await db.query<CaughtMessage & Record<string, unknown>>(sql.newestCaughtOfMessage, [accountId, messageId]);
  return row;
}
