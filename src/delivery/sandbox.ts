import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Batcher, MAX_BATCH_BYTES } from '../shared/batcher.js';
import type { Clock } from '../shared/clock.js';
import type { DeliveryReport, OutboundMessage, Transport } from './transport.js';

const sql = sqlFile(new URL('./sandbox.sql', import.meta.url), ['insertCaught', 'listCaught', 'caughtById', 'caughtByMessage'] as const);

interface Caught {
  account_id: number;
  message_id: string;
  envelope_from: string;
  envelope_to: string[];
  subject: string;
  raw: string;
  received_at: string;
}

/** The default transport: messages land in a catcher table that the API and console show. */
export class SandboxTransport implements Transport {
  readonly name = 'sandbox';
  private readonly writer: Batcher<Caught, void>;

  constructor(db: Database, private readonly clock: Clock) {
    this.writer = new Batcher<Caught, void>({
      maxBatch: 200,
      maxConcurrent: db.kind === 'postgres' ? 2 : 1,
      // Large messages are caught one statement each (see MAX_BATCH_BYTES).
      maxWeight: MAX_BATCH_BYTES,
      weight: (item) => item.raw.length,
      flush: async (items) => {
        await db.query(sql.insertCaught, [JSON.stringify(items)]);
        return items.map(() => undefined);
      },
    });
  }

  async deliver(message: OutboundMessage): Promise<DeliveryReport> {
    await this.writer.submit({
      account_id: message.accountId,
      message_id: message.messageId,
      envelope_from: message.returnPath(message.envelope.to),
      envelope_to: message.envelope.to,
      subject: message.subject,
      raw: message.raw.toString('utf8'),
      received_at: this.clock.now().toISOString(),
    });
    const reply = '250 2.0.0 Ok: caught by the sandbox';
    return {
      acceptedAs: 'delivered',
      recipients: message.envelope.to.map((address) => ({
        address, reply, outcome: 'delivered', code: 250, enhancedCode: '2.0.0', reason: null, bounceClass: null, retryAfterMs: null, rule: 'sandbox',
      })),
    };
  }

  async close(): Promise<void> {
    await this.writer.drain();
  }
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
