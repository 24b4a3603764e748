import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Batcher } from '../shared/batcher.js';
import type { QueueNotifier } from '../queue/notifier.js';
import type { Content } from './render.js';

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
  tags: string[];
  envelope: { from: string; to: string[] };
  content: Content;
  message_id_hdr: string;
  send_at: string | null;
  created_at: string;
  /** Recipient domain, the queue's destination key. */
  domain: string;
  /** When the first attempt is due; null for a message that will not be sent. */
  due_at: string | null;
}

/** Stores messages; returns how many were queued for delivery (the caller wakes the workers). */
export async function insertMessages(db: Queryable, messages: readonly NewMessage[]): Promise<number> {
  const [row] = await db.query<{ queued: number }>(sql.insertMessages, [JSON.stringify(messages)], 'insertMessages');
  return row?.queued ?? 0;
}

/**
 * Group commit for accepted messages: concurrent requests share one INSERT statement (one
 * commit, one fsync). PostgreSQL runs two batches at once (one commits while the next fills;
 * more would only make each batch smaller); PGlite has one connection, so one at a time.
 */
export function createMessageWriter(db: Database, notifier: QueueNotifier): Batcher<NewMessage, void> {
  return new Batcher<NewMessage, void>({
    maxBatch: 500,
    maxConcurrent: db.kind === 'postgres' ? 2 : 1,
    flush: async (items) => {
      if ((await insertMessages(db, items)) > 0) notifier.poke();
      return items.map(() => undefined);
    },
  });
}
