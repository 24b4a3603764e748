import { nextStatus, type EventType } from '../events/status.js';
import { retryDelayMs } from '../queue/backoff.js';
import type { ClaimedMessage, DeliveryResult } from '../queue/queue.js';
import type { DeliveryReport, RecipientResult } from './transport.js';
import { storableCopy } from '../shared/storable.js';

/** A receiver's "try again in N minutes" is honoured within these bounds. */
const MIN_HINT_MS = 30_000;
const MAX_HINT_MS = 4 * 3_600_000;

export interface OutcomeContext {
  message: ClaimedMessage;
  leaseToken: string;
  now: Date;
  maxRetryMs: number;
  /** Added to every event: attempt number, transport, worker. */
  details: Record<string, unknown>;
}

/**
 * Turns the per-recipient results of one attempt into the message's next event, status and queue
 * row. While any recipient is deferred, the message stays queued for those recipients only (the
 * others are not sent twice); once none is left, it is DELIVERED (or SENT through a relay) if any
 * recipient took it, else BOUNCED. Deferrals past the retry limit become SOFT bounces, reason
 * `expired`.
 */
export function resultOfAttempt(context: OutcomeContext, report: DeliveryReport): DeliveryResult {
  const { message, now, maxRetryMs } = context;
  const destination = report.destination ?? null;
  let results = report.recipients;
  const deferred = results.filter((result) => result.outcome === 'deferred');
  const transportDetails = { ...context.details, ...(report.host ? { host: report.host } : {}), ...(report.tls ? { tls: report.tls } : {}) };

  if (deferred.length > 0) {
    const hint = Math.max(0, ...deferred.map((result) => result.retryAfterMs ?? 0));
    const delay = hint > 0 ? Math.min(MAX_HINT_MS, Math.max(MIN_HINT_MS, hint)) : retryDelayMs(message.attempts);
    const nextAttempt = new Date(now.getTime() + delay);
    if (nextAttempt.getTime() - new Date(message.queued_at).getTime() <= maxRetryMs) {
      const first = deferred[0]!;
      return result(context, 'DEFERRED', {
        ...transportDetails, ...replyDetails(first), nextAttemptAt: nextAttempt.toISOString(), ...recipientList(results),
      }, destination, { retryAt: nextAttempt, lastError: first.reply, pending: deferred.map((entry) => entry.address) });
    }
    results = results.map((entry) => (entry.outcome === 'deferred' ? expired(entry) : entry));
  }

  const delivered = results.filter((entry) => entry.outcome === 'delivered');
  if (delivered.length > 0) {
    const type = report.acceptedAs === 'sent' ? 'SENT' : 'DELIVERED';
    return result(context, type, { ...transportDetails, reply: delivered[0]!.reply, ...recipientList(results) }, destination);
  }
  const bounced = results.find((entry) => entry.bounceClass === 'HARD') ?? results[0];
  return result(context, 'BOUNCED', { ...transportDetails, ...(bounced ? replyDetails(bounced) : {}), ...recipientList(results) }, destination);
}

/**
 * An internal failure (composition, signing, a preparation thread that died): nothing was sent,
 * so every recipient is deferred and retried on the schedule, never dropped.
 */
export function resultOfFailure(context: OutcomeContext, recipients: readonly string[], error: string): DeliveryResult {
  return resultOfAttempt(context, {
    acceptedAs: 'delivered',
    recipients: recipients.map((address) => ({
      address, reply: `internal error: ${error}`, outcome: 'deferred', code: null, enhancedCode: null,
      reason: 'systemerror', bounceClass: null, retryAfterMs: null, rule: 'internal-error',
    })),
  });
}

function result(
  context: OutcomeContext,
  type: EventType,
  details: Record<string, unknown>,
  destination: string | null,
  retry?: { retryAt: Date; lastError: string; pending: string[] },
): DeliveryResult {
  const { message } = context;
  const hipaa = message.account_hipaa === true;
  // Replies are the receiving server's text: whatever it sent must not fail the batch that records them.
  return {
    message_id: message.message_id,
    lease_token: context.leaseToken,
    at: context.now.toISOString(),
    type,
    status: nextStatus(message.status, type) ?? message.status,
    details: storableCopy(hipaa ? hipaaDetails(details) : details),
    retry_at: retry ? retry.retryAt.toISOString() : null,
    last_error: retry ? storableCopy(hipaa ? `${String(details.code ?? '')} ${String(details.reason ?? '')}`.trim() : retry.lastError) : null,
    pending_recipients: retry ? retry.pending : null,
    destination,
  };
}

/**
 * What a HIPAA account's delivery events keep (docs/HIPAA.md): ids, statuses, times, the reply
 * code, the bounce reason and class. A reply's text can echo the address (or more), and the
 * receiving host names the recipient's provider: dropped, as are the recipients' addresses.
 */
const HIPAA_DETAIL_KEYS = new Set(['attempt', 'transport', 'worker', 'tls', 'code', 'enhancedCode', 'reason', 'bounceClass', 'rule', 'nextAttemptAt']);

function hipaaDetails(details: Record<string, unknown>): Record<string, unknown> {
  const kept = Object.fromEntries(Object.entries(details).filter(([key]) => HIPAA_DETAIL_KEYS.has(key)));
  if (Array.isArray(details.recipients)) {
    // The address stays for the worker to replace with its keyed hash (the suppression list of a
    // HIPAA account holds hashes); the worker drops any it cannot map.
    kept.recipients = (details.recipients as { address: unknown; outcome: unknown; reason: unknown; bounceClass: unknown }[]).map((entry) => ({ address: entry.address, outcome: entry.outcome, reason: entry.reason, bounceClass: entry.bounceClass }));
  }
  return kept;
}

function replyDetails(entry: RecipientResult): Record<string, unknown> {
  return {
    reply: entry.reply,
    code: entry.code,
    enhancedCode: entry.enhancedCode,
    reason: entry.reason,
    ...(entry.bounceClass ? { bounceClass: entry.bounceClass } : {}),
    rule: entry.rule,
  };
}

/** Per-recipient results, when the attempt carried more than one recipient. */
function recipientList(results: readonly RecipientResult[]): Record<string, unknown> {
  if (results.length < 2) return {};
  return {
    recipients: results.map((entry) => ({
      address: entry.address, outcome: entry.outcome, reply: entry.reply, reason: entry.reason, bounceClass: entry.bounceClass,
    })),
  };
}

function expired(entry: RecipientResult): RecipientResult {
  // A message that never found TLS it could use says so, rather than a plain `expired`.
  return { ...entry, outcome: 'bounced', bounceClass: 'SOFT', reason: entry.reason === 'tlsrequired' ? 'tlsrequired' : 'expired', rule: 'queue-expired' };
}
