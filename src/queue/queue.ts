import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { StoredContent } from '../sending/render.js';
import type { EventType, Status } from '../events/status.js';

const sql = sqlFile(new URL('./queue.sql', import.meta.url), [
  'claimDue', 'recordResults', 'renewLeases', 'releaseLeases', 'releaseAllLeases', 'nextDue', 'depth',
] as const);

export { QUEUE_CHANNEL } from './notifier.js';

/** A caught copy larger than this is recorded by an unnamed statement (see record). */
const LARGE_CAUGHT_CHARS = 256 * 1024;

export interface ClaimedMessage {
  message_id: string;
  attempts: number;
  queued_at: Date;
  /** Recipients still to deliver after a partial result; null means the whole envelope. */
  pending_recipients: string[] | null;
  /** Bytes of its content (or body), as stored with the queue row; 0 for rows older than that. */
  size: number;
  account_id: number;
  status: Status;
  /** The From address (bare, lower case): its domain signs the message. */
  from_address: string;
  /** A HIPAA message's recipients are keyed hashes here until the worker opens it (src/hipaa/vault.ts). */
  envelope: { from: string; to: string[] };
  content: StoredContent;
  /** A HIPAA message's wrapped data key; null for others, and once shredded. */
  data_key: string | null;
  /** The submitted bytes of a raw (SMTP) message; null for composed content. */
  body: Uint8Array | null;
  message_id_hdr: string;
  created_at: Date;
  /** The account's tracking defaults, for a message that does not choose. */
  account_track_opens: boolean;
  /** A HIPAA account's message goes only over TLS that verifies (docs/HIPAA.md). */
  account_hipaa: boolean;
  account_track_clicks: boolean;
}

/**
 * The sandbox catcher's copy of a delivered message. It is written by the statement that records
 * the attempt's result, in the same transaction: a crash leaves both or neither, so a message is
 * never caught twice, nor caught without its DELIVERED event.
 */
export interface CaughtCopy {
  envelope_from: string;
  envelope_to: string[];
  subject: string;
  raw: string;
}

export interface DeliveryResult {
  message_id: string;
  lease_token: string;
  type: EventType;
  status: Status;
  details: Record<string, unknown>;
  at: string;
  /** Set for a retry: when the next attempt is due. */
  retry_at: string | null;
  last_error: string | null;
  /** With retry_at: the recipients the retry is for. */
  pending_recipients: string[] | null;
  /** Where the attempt went (queue views per destination); null when it went nowhere. */
  destination: string | null;
  /** Set by the sandbox transport: the catcher's row, stored only if this result is. */
  caught?: CaughtCopy;
}

export interface ClaimBudget {
  bytes: number;
  atLeastOne: boolean;
}

const UNLIMITED: ClaimBudget = { bytes: 2 ** 31 - 1, atLeastOne: true };

/** The durable queue, in the same database as the messages (SPEC: PostgreSQL is the queue). */
export class Queue {
  constructor(private readonly db: Database) {}

  /**
   * Leases due messages, skipping those for `busyDomains` and the messages in `exclude`, up to
   * `budget.bytes` of content; with `budget.atLeastOne`, the first due message whatever its size.
   */
  claim(now: Date, leaseUntil: Date, token: string, limit: number, busyDomains: readonly string[] = [], exclude: readonly string[] = [], budget: ClaimBudget = UNLIMITED): Promise<ClaimedMessage[]> {
    return this.db.query<ClaimedMessage & Record<string, unknown>>(sql.claimDue, [now, leaseUntil, token, limit, busyDomains, exclude, budget.bytes, budget.atLeastOne], 'claimDue');
  }

  /** Returns the ids whose results were applied (their lease was still held). */
  async record(results: readonly DeliveryResult[]): Promise<Set<string>> {
    const synchronousCommit = this.db.kind === 'postgres' ? 'off' : 'on';
    // A sandbox result carrying a large message goes unnamed: PGlite runs a named statement with
    // its values spelled into the text, which copies a 13 MB message several times over.
    const large = results.some((result) => (result.caught?.raw.length ?? 0) > LARGE_CAUGHT_CHARS);
    const rows = await this.db.query<{ message_id: string }>(sql.recordResults, [JSON.stringify(results), synchronousCommit], large ? undefined : 'recordResults');
    return new Set(rows.map((row) => row.message_id));
  }

  /** Extends the leases under these tokens until `until`. */
  async renew(tokens: readonly string[], until: Date): Promise<void> {
    if (tokens.length > 0) await this.db.query(sql.renewLeases, [tokens, until]);
  }

  async release(tokens: readonly string[], now: Date): Promise<void> {
    if (tokens.length > 0) await this.db.query(sql.releaseLeases, [tokens, now]);
  }

  /** Only safe when no other process can hold a lease (embedded PGlite, which is locked to one process). */
  async releaseAll(now: Date): Promise<void> {
    await this.db.query(sql.releaseAllLeases, [now]);
  }

  async nextDue(): Promise<Date | null> {
    const [row] = await this.db.query<{ due_at: Date | null }>(sql.nextDue);
    return row?.due_at ?? null;
  }

  async depth(): Promise<{ depth: number; oldest: Date | null }> {
    const [row] = await this.db.query<{ depth: number; oldest: Date | null }>(sql.depth);
    return row ?? { depth: 0, oldest: null };
  }
}
