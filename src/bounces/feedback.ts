import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { STATUSES, nextStatus, type Status } from '../events/status.js';
import { Batcher } from '../shared/batcher.js';
import type { BounceRecipient, BounceReport } from './parser/types.js';
import type { Verp, VerpTarget } from './verp.js';
import { storableCopy } from '../shared/storable.js';
import { isKeyedHash } from '../hipaa/vault.js';

const sql = sqlFile(new URL('./bounces.sql', import.meta.url), ['messagesForReports', 'recordFeedback'] as const);

/**
 * What an inbound report does to the message it is about (SPEC sections 4 and 7): a bounce
 * after delivery turns it BOUNCED, a feedback-loop report COMPLAINED, each with an event whose
 * details carry the recipient, the class, the reason and the remote diagnostic. Suppressing the
 * address and counting toward the account's rates follow from the event (migration 007's
 * trigger), exactly as for bounces during delivery.
 *
 * The message is found only through a VERP address whose MAC checks out: the envelope recipient
 * of a DSN, or the Return-Path inside the original message a complaint quotes. A report that
 * names anything else (a forged or mangled token) changes nothing.
 */
export interface FeedbackOutcome {
  messageId: string;
  type: FeedbackType;
  recipient: string;
  /** False when an equal event was already recorded (a resent DSN). */
  recorded: boolean;
}

type FeedbackType = 'BOUNCED' | 'COMPLAINED';

interface MessageRow extends Record<string, unknown> {
  id: string;
  account_id: number;
  to_address: string;
  status: Status;
  envelope: { from: string; to: string[] };
}

interface FeedbackEvent {
  messageId: string;
  type: FeedbackType;
  recipient: string;
  details: Record<string, unknown>;
  at: string;
}

/** What a HIPAA message's report events keep (the recipient is its keyed hash there). */
const HIPAA_REPORT_KEYS = new Set(['async', 'recipient', 'bounceClass', 'reason', 'enhancedCode', 'code', 'feedbackType', 'source']);

/** DSN actions that are not a failure: a delay warning, or a delivery/relay report. */
const NOT_FAILED = new Set(['delayed', 'delivered', 'relayed', 'expanded']);

/** The status fold of src/events/status.ts as a table for the statement: type -> current -> next. */
const TRANSITIONS = JSON.stringify(Object.fromEntries((['BOUNCED', 'COMPLAINED'] as const).map((type) => [type, Object.fromEntries(STATUSES.map((current) => [current, nextStatus(current, type) ?? current]))])));

/** The message a report is about: the VERP address it was sent to, else (complaints) the quoted Return-Path. */
export function reportTarget(verp: Verp, envelopeTarget: VerpTarget | null, report: BounceReport): VerpTarget | null {
  if (envelopeTarget) return envelopeTarget;
  const returnPath = report.original.returnPath?.replace(/^<|>$/g, '');
  return returnPath ? verp.decode(returnPath) : null;
}

/**
 * Applies reports with group commit: the reports that arrive while a statement runs are read
 * and written together by the next one (one commit, one fsync for all of them), because a wave
 * of bounces arrives at once, over many connections, after a campaign.
 */
export class FeedbackRecorder {
  private readonly reader: Batcher<string, MessageRow | null>;
  private readonly writer: Batcher<FeedbackEvent, boolean>;

  /**
   * `hasher`: the keyed hash of a HIPAA account (src/hipaa/vault.ts). Its messages keep hashes
   * of their recipients, so a report's recipients are hashed before they are matched, and its
   * events keep the hash, the class, the reason and the codes only: a diagnostic text can echo
   * the address, and the remote host names the recipient's provider.
   */
  constructor(db: Queryable, private readonly hasher: ((accountId: number) => Promise<(value: string) => string>) | null = null) {
    this.reader = new Batcher<string, MessageRow | null>({
      maxBatch: 500,
      maxConcurrent: 2,
      flush: async (ids) => {
        const rows = await db.query<MessageRow>(sql.messagesForReports, [[...new Set(ids)]]);
        const byId = new Map(rows.map((row) => [row.id, row]));
        return ids.map((id) => byId.get(id) ?? null);
      },
    });
    // One statement at a time: concurrent ones would only wait on each other's message locks.
    this.writer = new Batcher({ maxBatch: 500, maxConcurrent: 1, flush: (events) => recordEvents(db, events) });
  }

  async apply(target: VerpTarget, report: BounceReport, now: Date): Promise<FeedbackOutcome[]> {
    if (report.kind !== 'bounce' && report.kind !== 'feedback') return [];
    const message = await this.reader.submit(target.messageId);
    if (!message) return [];
    const type: FeedbackType = report.kind === 'feedback' ? 'COMPLAINED' : 'BOUNCED';
    const envelope = message.envelope.to.map((address) => address.toLowerCase());
    const hipaa = isKeyedHash(message.to_address);
    if (hipaa) {
      if (!this.hasher) return [];
      const hash = await this.hasher(message.account_id);
      report = { ...report, recipients: report.recipients.map((entry) => ({ ...entry, address: hash(entry.address.toLowerCase()) })) };
    }
    const entries = affected(report, envelope, target, message.to_address);
    return Promise.all(entries.map(async ({ recipient, entry }) => {
      const full = type === 'COMPLAINED' ? complaintDetails(recipient, entry) : bounceDetails(recipient, entry);
      const details = hipaa ? Object.fromEntries(Object.entries(full).filter(([key]) => HIPAA_REPORT_KEYS.has(key))) : full;
      const recorded = await this.writer.submit({ messageId: message.id, type, recipient, details, at: now.toISOString() });
      return { messageId: message.id, type, recipient, recorded };
    }));
  }
}

/**
 * Writes a batch. Equal events (a report delivered twice at once) are written once; a message
 * with both a bounce and a complaint in the batch gets them in two statements, in order, so
 * that each statement moves each message's status by one transition.
 */
async function recordEvents(db: Queryable, events: FeedbackEvent[]): Promise<boolean[]> {
  const recorded = events.map(() => false);
  const firstOf = new Map<string, number>();
  let pending = events.map((event, index) => ({ event, index })).filter(({ event, index }) => {
    const key = `${event.messageId}\n${event.type}\n${event.recipient}`;
    if (firstOf.has(key)) return false;
    firstOf.set(key, index);
    return true;
  });
  while (pending.length > 0) {
    const typeOf = new Map<string, FeedbackType>();
    const round = pending.filter(({ event }) => (typeOf.get(event.messageId) ?? typeOf.set(event.messageId, event.type).get(event.messageId)) === event.type);
    pending = pending.filter((item) => !round.includes(item));
    // A report is the outside world's text: a NUL in one must not fail the batch it is written with.
    const payload = storableCopy(round.map(({ event, index }) => ({ n: index, message_id: event.messageId, type: event.type, recipient: event.recipient, details: event.details, at: event.at })));
    const rows = await db.query<{ n: number }>(sql.recordFeedback, [JSON.stringify(payload), TRANSITIONS]);
    for (const row of rows) recorded[row.n] = true;
  }
  return recorded;
}

/**
 * The recipients of the message the report is about, with the report's entry for each. A VERP
 * address made for one recipient names it; otherwise the report's own recipients are matched
 * against the message's envelope, and an address the message was never sent to is ignored.
 */
function affected(report: BounceReport, envelope: string[], target: VerpTarget, to: string): { recipient: string; entry: BounceRecipient | null }[] {
  const failed = report.kind === 'bounce' ? report.recipients.filter((entry) => !NOT_FAILED.has((entry.action ?? 'failed').toLowerCase())) : report.recipients;
  if (report.kind === 'bounce' && failed.length === 0) return [];
  const byAddress = new Map(failed.map((entry) => [entry.address.toLowerCase(), entry]));
  const named = target.recipientIndex !== null ? envelope[target.recipientIndex] : undefined;
  if (named !== undefined) {
    // A DSN to a one-recipient VERP is about that recipient, whatever address the remote
    // side wrote in it (forwarders and aliases rewrite it); take its entry if it names it.
    return [{ recipient: named, entry: byAddress.get(named) ?? failed[0] ?? null }];
  }
  const matched = envelope.filter((address) => byAddress.has(address)).map((address) => ({ recipient: address, entry: byAddress.get(address)! }));
  if (matched.length > 0) return matched;
  // A complaint often redacts the recipient (ARF allows it); it is about the message's To.
  return report.kind === 'feedback' ? [{ recipient: to.toLowerCase(), entry: failed[0] ?? null }] : [];
}

function bounceDetails(recipient: string, entry: BounceRecipient | null): Record<string, unknown> {
  return {
    async: true,
    recipient,
    bounceClass: entry?.hard ? 'HARD' : 'SOFT',
    reason: entry?.reason ?? 'undefined',
    enhancedCode: entry?.status || null,
    code: entry?.replyCode ? Number(entry.replyCode) : null,
    reply: entry?.diagnostic ?? '',
    ...(entry?.remoteMta ? { remoteMta: entry.remoteMta } : {}),
    source: 'dsn',
  };
}

function complaintDetails(recipient: string, entry: BounceRecipient | null): Record<string, unknown> {
  return { recipient, feedbackType: entry?.feedbackType ?? 'abuse', reason: 'feedback', source: 'arf' };
}
