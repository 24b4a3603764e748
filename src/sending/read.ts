import { simpleParser } from 'mailparser';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { messageIdFloor } from '../shared/ids.js';
import { isProtectedContent, type ComposedContent, type RawContent, type SealedContent, type ShreddedContent } from './render.js';
import { messageData } from './response.js';

const sql = sqlFile(new URL('./messages.sql', import.meta.url), ['messageById', 'eventsOfMessage', 'listMessages', 'bodyById'] as const);

interface MessageRow {
  id: string;
  status: string;
  subject: string;
  external_id: string | null;
  client_id: string | null;
  alias: string | null;
  campaign_id: string | null;
  callbacks: string[];
  tags: string[];
  /** Without attachments and HTML (messages.sql). */
  content: Omit<ComposedContent, 'attachments' | 'html' | 'plain'> | RawContent | SealedContent | ShreddedContent;
  send_at: Date | null;
  created_at: Date;
  updated_at: Date;
  account_name: string;
  operator_name: string;
}

/**
 * A stored message as the API shows it: the `data` of SPEC section 3 plus what was set and when.
 * A message submitted over SMTP has no `text` field of its own; getMessage fills it in from the
 * stored MIME (lists leave it empty rather than parse a hundred messages).
 */
export function messageView(row: MessageRow, text = row.content.kind === 'raw' || isProtectedContent(row.content) ? '' : row.content.text) {
  if (isProtectedContent(row.content)) return withheldView(row);
  return {
    ...messageData({
      id: row.id,
      to: row.content.to,
      from: row.content.from,
      userName: row.account_name,
      operator: row.operator_name,
      text,
      status: row.status,
      subject: row.subject,
      externalId: row.external_id,
      clientId: row.client_id,
      callbacks: row.callbacks,
      alias: row.alias,
    }),
    campaignId: row.campaign_id,
    tags: row.tags,
    cc: row.content.cc,
    bcc: row.content.bcc,
    type: row.content.type,
    submittedBy: row.content.kind === 'raw' ? ('smtp' as const) : ('http' as const),
    sendAt: row.send_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
export type MessageView = ReturnType<typeof messageView>;

/**
 * A HIPAA message (docs/HIPAA.md): ids, status and times only. What it said, to whom, and the
 * caller's free-form fields are stored encrypted (and shredded after the final status), and no
 * read shows them: the same shape, with those fields empty.
 */
function withheldView(row: MessageRow) {
  return {
    ...messageData({
      id: row.id, to: '', from: '', userName: row.account_name, operator: row.operator_name, text: '', status: row.status, subject: '',
      externalId: null, clientId: null, callbacks: row.callbacks, alias: null,
    }),
    campaignId: row.campaign_id,
    tags: [] as string[],
    cc: [] as string[],
    bcc: [] as string[],
    type: 'transactional' as 'transactional' | 'marketing',
    submittedBy: 'http' as 'http' | 'smtp',
    sendAt: row.send_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function getMessage(db: Queryable, accountId: number, id: string): Promise<(MessageView & RejectionReason) | null> {
  const [row] = await db.query<MessageRow & Record<string, unknown>>(sql.messageById, [accountId, id]);
  if (!row) return null;
  const view = row.content.kind === 'raw' ? messageView(row, await submittedText(db, accountId, row.content.bodyId)) : messageView(row);
  return row.status === 'REJECTED' ? { ...view, ...(await rejectionReason(db, accountId, id)) } : view;
}

interface RejectionReason {
  reason?: string;
  suppressionReason?: string;
}

/** Why a REJECTED message was not sent, as the send's answer said it: from its REJECTED event. */
async function rejectionReason(db: Queryable, accountId: number, id: string): Promise<RejectionReason> {
  const events = await db.query<{ type: string; details: { reason?: string; suppression?: { reason?: string } } }>(sql.eventsOfMessage, [accountId, id]);
  const rejected = events.filter((event) => event.type === 'REJECTED').at(-1)?.details;
  if (!rejected?.reason) return {};
  const reason = rejected.reason.toUpperCase();
  if (reason === 'SUPPRESSED') return { reason, ...(rejected.suppression?.reason ? { suppressionReason: rejected.suppression.reason } : {}) };
  return { reason };
}

/**
 * A REJECTED event's reason spelt as its message's (`SUPPRESSED`, `CANCELED`): events stored
 * before the two were one spelling said `suppressed` and `canceled`.
 */
function rejectedDetails(type: string, details: Record<string, unknown>): Record<string, unknown> {
  if (type !== 'REJECTED' || typeof details.reason !== 'string') return details;
  return { ...details, reason: details.reason.toUpperCase() };
}

/** The plain-text part of a submitted message (derived from its HTML part when it has none). */
async function submittedText(db: Queryable, accountId: number, bodyId: string): Promise<string> {
  const [body] = await db.query<{ raw: Uint8Array }>(sql.bodyById, [accountId, bodyId]);
  if (!body) return '';
  const parsed = await simpleParser(Buffer.from(body.raw.buffer, body.raw.byteOffset, body.raw.byteLength), { skipImageLinks: true, skipTextLinks: true });
  return (parsed.text ?? '').replace(/\n$/, '');
}

export interface EventView {
  id: number;
  type: string;
  messageId: string;
  externalId: string | null;
  clientId: string | null;
  alias: string | null;
  campaignId: string | null;
  tags: string[];
  to: string;
  from: string;
  timestamp: string;
  details: Record<string, unknown>;
}

/** The message's events in SPEC section 4 shape, oldest first; null if the message is not the account's. */
export async function getEvents(db: Queryable, accountId: number, id: string): Promise<EventView[] | null> {
  const message = await getMessage(db, accountId, id);
  if (!message) return null;
  const rows = await db.query<{ id: number; type: string; created_at: Date; details: Record<string, unknown> }>(sql.eventsOfMessage, [accountId, id]);
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    messageId: id,
    externalId: message.externalId,
    clientId: message.clientId,
    alias: message.alias,
    campaignId: message.campaignId,
    tags: message.tags,
    to: message.to,
    from: message.from,
    timestamp: row.created_at.toISOString(),
    details: rejectedDetails(row.type, row.details),
  }));
}

export interface ListFilter {
  status: string | null;
  externalId: string | null;
  clientId: string | null;
  campaignId: string | null;
  to: string | null;
  from: string | null;
  tag: string | null;
  after: Date | null;
  before: Date | null;
  cursor: string | null;
  limit: number;
}

/**
 * How many messages a page filtered by from or tag reads at most (see listMessages in
 * messages.sql): 10,000 rows are a few milliseconds of index and heap reads, and a page that finds
 * fewer matches in them than it may hold still has a cursor to go on with.
 */
export const SCAN_BUDGET = 10_000;

export async function listMessages(db: Queryable, accountId: number, filter: ListFilter, scanBudget = SCAN_BUDGET): Promise<{ items: MessageView[]; nextCursor: string | null }> {
  const scanning = filter.from !== null || filter.tag !== null;
  const walk = scanning ? Math.max(scanBudget, filter.limit) : filter.limit;
  const found = await db.query<MessageRow & Record<string, unknown> & { scanned_to: string | null; scanned_count: number }>(sql.listMessages, [
    accountId, filter.status, filter.externalId, filter.clientId, filter.campaignId,
    filter.to?.toLowerCase() ?? null, filter.from?.toLowerCase() ?? null, filter.after, filter.before, filter.cursor, filter.limit,
    walk, filter.tag === null ? null : JSON.stringify([filter.tag]),
    filter.after && messageIdFloor(filter.after.getTime()), filter.before && messageIdFloor(filter.before.getTime()),
  ]);
  const { scanned_to: scannedTo, scanned_count: scannedCount } = found[0] ?? { scanned_to: null, scanned_count: 0 };
  // The walk's one row joins no message when nothing matched.
  const rows = found.filter((row) => row.id !== null);
  const items = rows.map((row) => messageView(row));
  // A full page goes on after its last message; a short one after where the walk stopped, if the walk was cut short.
  const nextCursor = items.length === filter.limit ? items.at(-1)!.id : scannedCount === walk ? scannedTo : null;
  return { items, nextCursor };
}
