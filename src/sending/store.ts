import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Batcher, MAX_BATCH_BYTES } from '../shared/batcher.js';
import type { QueueNotifier } from '../queue/notifier.js';
import { pendingEntryJson, type PendingAuditEntry } from '../audit/audit.js';
import type { Content, StoredContent } from './render.js';

const HTTP_URL = /^https?:\/\/[^\s/?#]+[^\s]*$/i;

/** The callbacks that will be called (http and https URLs), once each; null when none. */
export function callbackUrls(callbacks: readonly string[]): string[] | null {
  const urls = [...new Set(callbacks.filter((callback) => HTTP_URL.test(callback)))];
  return urls.length > 0 ? urls : null;
}

const sql = sqlFile(new URL('./messages.sql', import.meta.url), ['insertMessages'] as const);

/** One message as it is written: the row, its first event and (when it will be sent) its queue entry. */
export interface NewMessage {
  id: string;
  account_id: number;
  operator_id: number;
  status: 'QUEUED' | 'SCHEDULED' | 'REJECTED';
  to_address: string;
  from_address: string;
  subject: string;
  external_id: string | null;
  client_id: string | null;
  alias: string | null;
  campaign_id: string | null;
  callbacks: string[];
  /** The http(s) URLs among `callbacks`, once each, or null: what the webhook fan-out sends to. */
  callback_urls: string[] | null;
  tags: string[];
  envelope: { from: string; to: string[] };
  content: StoredContent;
  /** A HIPAA message's data key, wrapped (src/hipaa/vault.ts); absent for every other message. */
  data_key?: string | null;
  message_id_hdr: string;
  send_at: string | null;
  created_at: string;
  /** Recipient domain, the queue's destination key. */
  domain: string;
  /** When the first attempt is due; null for a message that will not be sent. */
  due_at: string | null;
  /** Details of the first event (why a REJECTED message is not sent); null: none. */
  event_details?: Record<string, unknown> | null;
  /** The bytes of the content (its body, for one submitted over SMTP), near enough: the queue keeps it, so a worker claims no more than it can hold. */
  size: number;
}

/** The bytes of a message submitted over SMTP, shared by its recipients' rows. */
export interface NewBody {
  id: string;
  account_id: number;
  raw: Buffer;
  created_at: string;
}

/** What one caller stores at once, all or nothing: one HTTP message, or an SMTP message per recipient. */
export interface Submission {
  rows: NewMessage[];
  bodies: NewBody[];
  /** A HIPAA account's audit entry of the request, committed with its messages (src/audit/audit.ts). */
  audit?: PendingAuditEntry[];
}

/** A message the store found on its account's suppression list: stored REJECTED, not queued. */
export interface StoredRejection {
  id: string;
  address: string;
  reason: string;
  messageId: string | null;
  since: string;
}

export interface StoreResult {
  queued: number;
  rejected: StoredRejection[];
}

/**
 * A message this large is stored by an unnamed statement (see insertMessages). Decided per
 * message, not per batch: a batch of hundreds of small messages also passes a megabyte, and
 * sent unnamed it was parsed and planned each time, which cost PGlite's ingest 60% of its rate.
 */
const LARGE_MESSAGE_CHARS = 256 * 1024;

/** Stores messages (and their bodies); says how many were queued (the caller wakes the workers) and which were suppressed. */
export async function insertMessages(db: Queryable, messages: readonly NewMessage[], bodies: readonly NewBody[] = [], audit: readonly PendingAuditEntry[] = []): Promise<StoreResult> {
  const encodedBodies = bodies.map((body) => ({ id: body.id, account_id: body.account_id, raw: body.raw.toString('base64'), created_at: body.created_at }));
  const large = encodedBodies.some((body) => body.raw.length > LARGE_MESSAGE_CHARS) || messages.some((message) => message.content.kind !== 'raw' && message.size > LARGE_MESSAGE_CHARS);
  const params = [JSON.stringify(messages), JSON.stringify(encodedBodies), JSON.stringify(audit.map(pendingEntryJson))];
  // A large statement is sent unnamed, with its parameters apart from the SQL text: PGlite runs a
  // named one as EXECUTE with the values spelled into the statement as literals, which its
  // parser copies several times over (a 13 MB message took 80 MB more of its memory).
  const [row] = await db.query<{ queued: number; rejected: StoredRejection[] | null }>(sql.insertMessages, params, large ? undefined : 'insertMessages');
  return { queued: Number(row?.queued ?? 0), rejected: row?.rejected ?? [] };
}

/** The bytes a submission puts into the storing statement (near enough: string lengths). */
export function submissionBytes(submission: Submission): number {
  let bytes = 0;
  for (const row of submission.rows) bytes += row.content.kind === 'raw' ? 1024 : row.size;
  for (const body of submission.bodies) bytes += body.raw.length;
  return bytes;
}

/** The bytes a message's content holds (its body, for one submitted over SMTP), near enough: string lengths. */
export function contentBytes(content: Content): number {
  if (content.kind === 'raw') return 1024 + content.size;
  let bytes = 1024 + content.text.length + (content.html?.length ?? 0) + (content.plain?.length ?? 0);
  for (const attachment of content.attachments) bytes += attachment.content.length;
  return bytes;
}

/**
 * Group commit for accepted messages: concurrent requests share one INSERT statement (one
 * commit, one fsync). Two batches run at once, so that one fills while the other commits (more
 * would only make each batch smaller). On PGlite the statements themselves still run one after
 * the other on its one connection; what overlaps is the second's statement with the first's
 * fsync (src/db/walSync.ts). Each caller gets the suppressed ones among its own messages.
 */
export function createMessageWriter(db: Database, notifier: QueueNotifier): Batcher<Submission, StoredRejection[]> {
  return new Batcher<Submission, StoredRejection[]>({
    maxBatch: 500,
    maxConcurrent: 2,
    maxWeight: MAX_BATCH_BYTES,
    weight: submissionBytes,
    flush: async (items) => {
      const rows = items.length === 1 ? items[0]!.rows : items.flatMap((item) => item.rows);
      const bodies = items.flatMap((item) => item.bodies);
      const audit = items.flatMap((item) => item.audit ?? []);
      const { queued, rejected } = await insertMessages(db, rows, bodies, audit);
      if (queued > 0) notifier.poke();
      if (rejected.length === 0) return items.map(() => []);
      const byId = new Map(rejected.map((entry) => [entry.id, entry]));
      return items.map((item) => item.rows.flatMap((row) => byId.get(row.id) ?? []));
    },
  });
}
