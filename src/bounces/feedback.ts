import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { nextStatus, type Status } from '../events/status.js';
import type { BounceRecipient, BounceReport } from './parser/types.js';
import type { Verp, VerpTarget } from './verp.js';

const sql = sqlFile(new URL('./bounces.sql', import.meta.url), ['lockMessage', 'recordFeedback'] as const);

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
  type: 'BOUNCED' | 'COMPLAINED';
  recipient: string;
  /** False when an equal event was already recorded (a resent DSN). */
  recorded: boolean;
  status: Status;
}

interface MessageRow {
  id: string;
  account_id: number;
  to_address: string;
  status: Status;
  envelope: { from: string; to: string[] };
}

/** DSN actions that are not a failure: a delay warning, or a delivery/relay report. */
const NOT_FAILED = new Set(['delayed', 'delivered', 'relayed', 'expanded']);

/** The message a report is about: the VERP address it was sent to, else (complaints) the quoted Return-Path. */
export function reportTarget(verp: Verp, envelopeTarget: VerpTarget | null, report: BounceReport): VerpTarget | null {
  if (envelopeTarget) return envelopeTarget;
  const returnPath = report.original.returnPath?.replace(/^<|>$/g, '');
  return returnPath ? verp.decode(returnPath) : null;
}

export async function applyReport(db: Database, target: VerpTarget, report: BounceReport, now: Date): Promise<FeedbackOutcome[]> {
  if (report.kind !== 'bounce' && report.kind !== 'feedback') return [];
  return db.transaction(async (tx) => {
    const [message] = await tx.query<MessageRow & Record<string, unknown>>(sql.lockMessage, [target.messageId]);
    if (!message) return [];
    const envelope = message.envelope.to.map((address) => address.toLowerCase());
    const outcomes: FeedbackOutcome[] = [];
    let status = message.status;
    for (const { recipient, entry } of affected(report, envelope, target, message.to_address)) {
      const type = report.kind === 'feedback' ? 'COMPLAINED' : 'BOUNCED';
      const next = nextStatus(status, type) ?? status;
      const details = type === 'COMPLAINED' ? complaintDetails(recipient, entry) : bounceDetails(recipient, entry);
      const rows = await tx.query(sql.recordFeedback, [message.id, message.account_id, type, next, now, JSON.stringify(details), recipient]);
      if (rows.length > 0) status = next;
      outcomes.push({ messageId: message.id, type, recipient, recorded: rows.length > 0, status });
    }
    return outcomes;
  });
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
