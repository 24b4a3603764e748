import type { Principal } from '../accounts/apiKeys.js';
import type { Database, Queryable } from '../db/database.js';
import type { Batcher } from '../shared/batcher.js';
import type { QueueNotifier } from '../queue/notifier.js';
import type { Clock } from '../shared/clock.js';
import type { Metrics } from '../shared/metrics.js';
import { ApiError, validationError, type ErrorDetail } from '../shared/errors.js';
import { newMessageId } from '../shared/ids.js';
import { claimKey, KeyTaken, replayFor, requestHash, type StoredResponse } from './idempotency.js';
import type { PolicyScope, Recipient, SendingPolicy } from './policy/policy.js';
import { rawAttachments } from './policy/attachments.js';
import { applyTemplate } from './templated.js';
import type { TemplateStore } from '../templates/templates.js';
import { renderContent, withTextFromHtml } from './render.js';
import { prepareRawSubmission, type RawSubmissionInput } from './rawSubmission.js';
import { messageData, successBody, withheldResponseBody, type Meta } from './response.js';
import type { MessageData } from './schema.js';
import { callbackUrls, contentBytes, insertMessages, type NewMessage, type StoredRejection, type StoreResult, type Submission } from './store.js';
import { checkBeforeTemplate, validateSendRequest } from './validate.js';
import { forRecipient, splitRecipients } from './recipients.js';
import { parseMailbox } from './addresses.js';
import { checkHipaaSend } from '../hipaa/features.js';
import type { Suppression, SuppressionChecker } from '../suppression/suppressions.js';
import type { SuppressionCache } from '../suppression/cache.js';
import type { HipaaVault } from '../hipaa/vault.js';
import { normalizeAddress } from '../suppression/suppressions.js';
import type { AuditEvent, PendingAuditEntry } from '../audit/audit.js';

/**
 * The one send pipeline: validate, apply policy, render, store, enqueue. HTTP (and later SMTP
 * and campaigns) are thin doors that call it. A message is acknowledged only after the
 * statement that stores it has committed.
 */
export interface SendContext {
  principal: Principal;
  meta: Meta;
  unsubscribeMsg: string | null;
  idempotencyKey: string | null;
  /** A HIPAA account's request on an audited door: its entry is stored with its messages. */
  audit?: SendAudit | null;
}

/**
 * The audit entry of a send, written by the statement that stores the messages, so that the
 * answer waits for one commit and a stored message is never missing from the log. The door says
 * who and from where; the pipeline adds what was made; `written` tells the door it was done.
 */
export interface SendAudit {
  event: Omit<AuditEvent, 'target' | 'outcome' | 'status'>;
  written: boolean;
}

export interface Prepared {
  row: NewMessage;
  data: MessageData;
  warnings: ErrorDetail[];
}

export type BulkResult = { data: MessageData; warnings?: ErrorDetail[] } | { error: { code: string; message: string; details: ErrorDetail[] } };

export interface PipelineDeps {
  db: Database;
  writer: Batcher<Submission, StoredRejection[]>;
  notifier: QueueNotifier;
  metrics: Pick<Metrics, 'accepted'>;
  clock: Clock;
  policy: SendingPolicy;
  templates: TemplateStore;
  suppressions: SuppressionChecker;
  /** The in-memory copy of the lists that RCPT TO checks (processes with the smtp role). */
  suppressionCache?: SuppressionCache | null;
  /** Seals a HIPAA account's messages before they are stored (docs/HIPAA.md). */
  vault: HipaaVault;
}

export class SendPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  /** Policy on who sends at all (the SMTP door asks at MAIL FROM, before any content). */
  checkAccount(principal: Principal): void {
    if (principal.accountStatus === 'suspended') {
      throw new ApiError(403, 'ACCOUNT_SUSPENDED', 'This account is suspended from sending; an operator of the installation can reinstate it.');
    }
  }

  /** Policy on an envelope sender (SMTP MAIL FROM); the null sender <> names no one to check. */
  async checkEnvelopeSender(principal: Principal, address: string): Promise<void> {
    this.checkAccount(principal);
    if (address === '') return;
    const parsed = parseMailbox(address);
    if (typeof parsed === 'string') throw validationError([{ field: 'MAIL FROM', message: parsed }], `The sender ${address} ${parsed}.`);
    await this.deps.policy.checkSender(principal.accountId, parsed);
  }

  /** Policy on an envelope recipient (SMTP RCPT TO): role addresses, dead domains and suppressed addresses are refused there, before any content. */
  async checkRecipient(principal: Principal, address: string): Promise<void> {
    const parsed = parseMailbox(address);
    if (typeof parsed !== 'string') await this.deps.policy.checkRecipients(principal.accountId, [{ field: 'to', address: parsed }]);
    const key = (await this.suppressionKey(principal))(address);
    const cache = this.deps.suppressionCache;
    // The in-memory copy answers "not listed" without a statement; a listed address is read
    // from the table, for the reason and the time its refusal names.
    if (cache && !(await cache.isSuppressed(principal.accountId, key))) return;
    const entry = (await this.deps.suppressions.suppressed(principal.accountId, [key])).values().next().value;
    if (entry) {
      // A HIPAA account's refusals never repeat an address (docs/HIPAA.md).
      const who = principal.accountHipaa ? 'This recipient' : `The recipient ${address}`;
      throw new ApiError(422, 'RECIPIENT_SUPPRESSED', `${who} is on this account's suppression list (${entry.reason} since ${entry.createdAt}); remove it from the list to send to it again.`, [
        { field: 'to', message: `is suppressed (${entry.reason})` },
      ]);
    }
  }

  /** A HIPAA account's keyed hash of a value (a lower-cased address, an externalId), as its messages store it. */
  lookupKey(principal: Principal): Promise<(value: string) => string> {
    return this.deps.vault.hasher(principal.accountId);
  }

  /**
   * How an address is found on the account's suppression list: itself (lower-cased), or for a
   * HIPAA account its keyed hash, which is all that account's list holds.
   */
  async suppressionKey(principal: Principal): Promise<(address: string) => string> {
    if (!principal.accountHipaa) return normalizeAddress;
    const hash = await this.deps.vault.hasher(principal.accountId);
    return (address) => hash(normalizeAddress(address));
  }

  /** This process changed an account's suppression list: its RCPT checks see it at once. */
  suppressionsChanged(accountId: number): void {
    this.deps.suppressionCache?.invalidate(accountId);
  }

  /**
   * A MIME message submitted over SMTP: the same policy as POST /emails, one message id per
   * envelope recipient. Resolves once every row is stored (or, with an X-Mailroom-Idempotency-Key
   * seen before, with the ids stored then).
   */
  async submitRaw(principal: Principal, input: RawSubmissionInput): Promise<{ ids: string[]; replayed: boolean }> {
    this.checkAccount(principal);
    const prepared = prepareRawSubmission(principal, input, this.deps.clock.now());
    checkHipaaSend(principal, prepared.options, (name) => (name === 'trackClicks' ? 'X-Mailroom-Track' : 'X-Mailroom-Callbacks'));
    await this.deps.policy.checkSender(principal.accountId, prepared.from);
    await this.deps.policy.checkAttachments(await rawAttachments(input.raw), (index) => `attachments[${index}]`);
    await this.deps.policy.checkCallbacks(prepared.options.callbacks, (index) => `X-Mailroom-Callbacks[${index}]`);
    const context: SendContext = { principal, meta: { timestamp: 0, transactionId: '' }, unsubscribeMsg: null, idempotencyKey: prepared.options.idempotencyKey };
    let built = false;
    const response = await this.idempotent(context, '/smtp', () => ({ digest: prepared.requestDigest() }), async () => {
      built = true;
      const { refusal } = await this.deps.policy.take(principal.accountId, prepared.ids.length, false);
      if (refusal) throw refusal;
      return { submission: principal.accountHipaa ? await this.sealSubmission(prepared.submission) : prepared.submission, response: { statusCode: 250, body: { ids: prepared.ids } } };
    });
    return { ids: (response.body as { ids: string[] }).ids, replayed: !built };
  }

  /** A HIPAA submission over SMTP: each recipient's row carries its own sealed copy of the body, shredded with it. */
  private async sealSubmission(submission: Submission): Promise<Submission> {
    const bodies = new Map(submission.bodies.map((body) => [body.id, body]));
    const rows = await Promise.all(submission.rows.map((row) => this.deps.vault.seal(row, row.content.kind === 'raw' ? bodies.get(row.content.bodyId) ?? null : null)));
    return { rows, bodies: [] };
  }

  /**
   * Validate, police and render one request into the row that will be stored. Throws ApiError.
   * `answerStored`: the response is stored before the message (an Idempotency-Key), so the
   * suppression list must be read now, not by the storing statement.
   */
  async prepare(principal: Principal, input: unknown, unsubscribeMsg: string | null, answerStored = false, scope: PolicyScope = {}): Promise<Prepared> {
    const now = this.deps.clock.now();
    this.checkAccount(principal);
    const early = checkBeforeTemplate(input);
    if (early.length > 0) throw validationError(early);
    const body = withTextFromHtml(await applyTemplate(this.deps.templates, principal.accountId, input));
    const checked = validateSendRequest(body, now, body === input);
    if (!checked.ok) {
      if (checked.tooLarge) throw new ApiError(413, 'MESSAGE_TOO_LARGE', checked.details[0]?.message ?? 'The message is too large.', checked.details);
      throw validationError(checked.details);
    }
    const message = checked.message;
    const { policy } = this.deps;
    if (!scope.system) await policy.checkSender(principal.accountId, message.from);
    const addressees: Recipient[] = [
      { field: 'to', address: message.to },
      ...message.cc.map((address, index) => ({ field: `cc[${index}]`, address })),
      ...message.bcc.map((address, index) => ({ field: `bcc[${index}]`, address })),
    ];
    await policy.checkRecipients(principal.accountId, addressees, scope);
    await policy.checkAttachments(message.attachments.map((attachment) => ({ filename: attachment.filename, content: Buffer.from(attachment.content, 'base64') })), (index) => `attachments[${index}]`);
    await policy.checkCallbacks(message.request.callbacks ?? [], (index) => `callbacks[${index}]`);
    checkHipaaSend(principal, message.request);

    const warnings: ErrorDetail[] = policy.warnings(message.from, message.replyTo);
    (message.request.callbacks ?? []).forEach((callback, index) => {
      if (!callbackUrls([callback])) {
        warnings.push({ field: `callbacks[${index}]`, message: 'is not an absolute http(s) URL and will not be called' });
      }
    });

    const id = newMessageId(now.getTime());
    const content = renderContent(message, unsubscribeMsg);
    const { request } = message;
    // The suppression list, read at every send: the To suppressed means the message is stored
    // REJECTED and not sent; a suppressed Cc or Bcc is left out of the envelope, with a warning.
    // For the common message (a To alone, answered after it is stored) the storing statement
    // reads the list itself (messages.sql), which saves a round trip per message; the look-up
    // here is for Cc/Bcc and for answers stored before the message.
    const everyone = [message.to, ...message.cc, ...message.bcc].map((entry) => entry.address);
    const key = await this.suppressionKey(principal);
    const suppressed = everyone.length > 1 || answerStored ? await this.deps.suppressions.suppressed(principal.accountId, everyone.map(key)) : new Map<string, Suppression>();
    // (Nothing looked up, nothing to hash: a HIPAA account's key is an HMAC, paid once by the seal.)
    const toSuppression = suppressed.size > 0 ? suppressed.get(key(message.to.address)) ?? null : null;
    const recipients = suppressed.size === 0 ? everyone : everyone.filter((address) => address === message.to.address || !suppressed.has(key(address)));
    for (const [field, list] of [['cc', message.cc], ['bcc', message.bcc]] as const) {
      list.forEach((entry, index) => {
        const hit = suppressed.get(key(entry.address));
        const who = principal.accountHipaa ? `${field}[${index}]` : entry.address;
        if (hit) warnings.push({ field, message: `${who} is suppressed (${hit.reason}) and was left out` });
      });
    }
    const status = toSuppression ? 'REJECTED' : message.sendAt ? 'SCHEDULED' : 'QUEUED';
    const row: NewMessage = {
      id,
      account_id: principal.accountId,
      operator_id: principal.operatorId,
      status,
      to_address: message.to.address.toLowerCase(),
      from_address: message.from.address.toLowerCase(),
      subject: request.subject,
      external_id: request.externalId ?? null,
      client_id: request.clientId ?? null,
      alias: request.alias ?? null,
      campaign_id: request.campaignId ?? null,
      callbacks: request.callbacks ?? [],
      callback_urls: callbackUrls(request.callbacks ?? []),
      tags: request.tags ?? [],
      envelope: { from: message.from.address, to: [...new Set(recipients)] },
      content,
      message_id_hdr: `<${id}@${message.from.domain}>`,
      send_at: message.sendAt?.toISOString() ?? null,
      created_at: now.toISOString(),
      domain: message.to.domain,
      due_at: toSuppression ? null : (message.sendAt ?? now).toISOString(),
      event_details: toSuppression ? suppressedDetails(message.to.address, toSuppression) : null,
      size: contentBytes(content),
    };
    const data = messageData({
      id,
      to: request.to,
      from: request.from,
      userName: principal.accountName,
      operator: principal.operatorName,
      text: request.text,
      status,
      subject: request.subject,
      externalId: row.external_id,
      clientId: row.client_id,
      callbacks: row.callbacks,
      alias: row.alias,
    });
    if (toSuppression) Object.assign(data, { reason: 'SUPPRESSED', suppressionReason: toSuppression.reason });
    return { row: principal.accountHipaa ? await this.deps.vault.seal(row) : row, data, warnings };
  }

  /**
   * The campaign door's rate: up to `count` messages from the account's windows (all of them
   * when it has no limits), and when fewer, how long until the windows give more. A campaign
   * waits for that rather than failing.
   */
  async reserve(accountId: number, count: number): Promise<{ granted: number; retryAfterSeconds: number }> {
    const { granted, refusal } = await this.deps.policy.take(accountId, count, true);
    return { granted, retryAfterSeconds: refusal ? Number(refusal.headers['retry-after'] ?? 1) || 1 : 0 };
  }

  /**
   * The campaign door's store: rows from `prepare`, written by the caller's transaction beside
   * its ledger, so that a message and the ledger row that says it was made commit together.
   * `stored` wakes the workers once that transaction has committed.
   */
  storeInTransaction(tx: Queryable, rows: readonly NewMessage[]): Promise<StoreResult> {
    return insertMessages(tx, rows);
  }

  stored(queued: number, total: number): void {
    if (queued > 0) this.deps.notifier.poke();
    this.deps.metrics.accepted.inc(total);
  }

  /** POST /emails: one message (or one per address of a `to` array); the response body once it is stored. */
  async send(context: SendContext, body: unknown, scope: PolicyScope = {}): Promise<StoredResponse> {
    const each = splitRecipients(body);
    if (each) return this.sendToEach(context, body, each, scope);
    return this.idempotent(context, '/emails', () => body, async () => {
      const prepared = await this.prepare(context.principal, body, context.unsubscribeMsg, context.idempotencyKey !== null, scope);
      const { refusal } = await this.deps.policy.take(context.principal.accountId, 1, false);
      if (refusal) throw refusal;
      return { submission: { rows: [prepared.row], bodies: [] }, response: { statusCode: 200, body: successBody(context.meta, prepared.data, prepared.warnings) } };
    });
  }

  /**
   * POST /emails with a `to` array: every recipient's message is valid and allowed or none is
   * stored (the error names the element); `data` lists the messages in the order of `to`.
   */
  private async sendToEach(context: SendContext, body: unknown, requests: Record<string, unknown>[], scope: PolicyScope): Promise<StoredResponse> {
    return this.idempotent(context, '/emails', () => body, async () => {
      const prepared: Prepared[] = [];
      for (const [index, request] of requests.entries()) {
        try {
          prepared.push(await this.prepare(context.principal, request, context.unsubscribeMsg, context.idempotencyKey !== null, scope));
        } catch (error) {
          throw error instanceof ApiError ? forRecipient(error, index) : error;
        }
      }
      const { refusal } = await this.deps.policy.take(context.principal.accountId, prepared.length, false);
      if (refusal) throw refusal;
      const warnings = prepared.flatMap((entry, index) => entry.warnings.map((warning) => (warning.field === 'to' ? { ...warning, field: `to[${index}]` } : warning)));
      const data = prepared.map((entry) => entry.data);
      return { submission: { rows: prepared.map((entry) => entry.row), bodies: [] }, response: { statusCode: 200, body: successBody(context.meta, data, warnings) } };
    });
  }

  /** POST /emails/bulk: each message succeeds or fails on its own; results in request order. */
  async sendBulk(context: SendContext, messages: unknown[], defaults: Record<string, unknown> | null = null): Promise<StoredResponse> {
    return this.idempotent(context, '/emails/bulk', () => (defaults ? { messages, defaults } : messages), async () => {
      const results: (BulkResult | Prepared)[] = [];
      for (const message of messages) {
        const body = defaults && message !== null && typeof message === 'object' && !Array.isArray(message) ? { ...defaults, ...message } : message;
        try {
          results.push(await this.prepare(context.principal, body, context.unsubscribeMsg, context.idempotencyKey !== null));
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          results.push(errorResult(error));
        }
      }
      // The rate limit grants what is left in the account's windows; the messages past it are
      // answered 429's code one by one, in request order, like any other refusal.
      const preparedCount = results.filter((result) => 'row' in result).length;
      const { granted, refusal } = await this.deps.policy.take(context.principal.accountId, preparedCount, true);
      let allowed = granted;
      const rows: NewMessage[] = [];
      const answers = results.map((result): BulkResult => {
        if (!('row' in result)) return result;
        if (allowed-- <= 0 && refusal) return errorResult(refusal);
        rows.push(result.row);
        return result.warnings.length > 0 ? { data: result.data, warnings: result.warnings } : { data: result.data };
      });
      return { submission: { rows, bodies: [] }, response: { statusCode: 200, body: { meta: context.meta, data: answers } } };
    });
  }

  /**
   * Without a key, a single message (HTTP, or SMTP with its recipients and body) joins the group
   * commit; a bulk request is a batch already and is stored by one statement, so it is stored
   * whole or not at all. With a key, the rows and the stored response commit in one transaction,
   * so a replay can never see a response whose messages were lost, nor a message sent twice.
   */
  private async idempotent(
    context: SendContext,
    route: string,
    /** The request an Idempotency-Key stands for (a function: hashing it costs, and is needed only with a key). */
    body: () => unknown,
    build: () => Promise<{ submission: Submission; response: StoredResponse }>,
  ): Promise<StoredResponse> {
    const { db, writer, clock } = this.deps;
    const key = context.idempotencyKey;
    if (key === null) {
      const { submission, response } = await build();
      const { rows, bodies } = submission;
      const audit = this.auditEntries(context, rows, response.statusCode);
      let rejected: StoredRejection[] = [];
      if (rows.length === 1 || bodies.length > 0) rejected = await writer.submit({ ...submission, audit });
      else if (rows.length > 1) {
        const stored = await insertMessages(db, rows, [], audit);
        if (stored.queued > 0) this.deps.notifier.poke();
        rejected = stored.rejected;
      }
      if (audit.length > 0) context.audit!.written = true;
      this.deps.metrics.accepted.inc(rows.length);
      if (rejected.length > 0) markRejected(response.body, rejected);
      return response;
    }
    const accountId = context.principal.accountId;
    const digest = requestHash(route, body(), { unsubscribeMsg: context.unsubscribeMsg });
    // A plain digest of a HIPAA request could be matched against guessed content (a short
    // message to a known address): its stored form is keyed with the account's index key.
    const hash = context.principal.accountHipaa ? (await this.deps.vault.hasher(accountId))(digest) : digest;
    const earlier = await replayFor(db, accountId, key, hash, clock.now());
    if (earlier) return earlier;
    const { submission, response } = await build();
    const { rows, bodies } = submission;
    const audit = this.auditEntries(context, rows, response.statusCode);
    try {
      await db.transaction(async (tx) => {
        const kept = context.principal.accountHipaa ? { statusCode: response.statusCode, body: withheldResponseBody(response.body) } : response;
        if (!(await claimKey(tx, accountId, key, hash, kept, clock.now()))) throw new KeyTaken();
        if (rows.length > 0) await insertMessages(tx, rows, bodies, audit);
      });
      if (audit.length > 0) context.audit!.written = true;
      if (rows.length > 0) this.deps.notifier.poke();
      this.deps.metrics.accepted.inc(rows.length);
      return response;
    } catch (error) {
      if (!(error instanceof KeyTaken) && !isUniqueViolation(error)) throw error;
      // A concurrent request with the same key committed first: answer as it did.
      const winner = await replayFor(db, accountId, key, hash, clock.now());
      if (winner) return winner;
      throw error;
    }
  }

  /** The request's audit entry, naming the messages it stores; none when nothing is stored (the door records the request itself). */
  private auditEntries(context: SendContext, rows: readonly NewMessage[], statusCode: number): PendingAuditEntry[] {
    if (!context.audit || rows.length === 0) return [];
    const target = rows.map((row) => row.id).join(' ').slice(0, 30_000);
    return [{ ...context.audit.event, target, outcome: 'ok', status: String(statusCode), at: this.deps.clock.now().toISOString() }];
  }
}

function errorResult(error: ApiError): BulkResult {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

/** Answers the messages the store found suppressed as REJECTED (single and bulk bodies). */
function markRejected(body: unknown, rejected: readonly StoredRejection[]): void {
  const byId = new Map(rejected.map((entry) => [entry.id, entry]));
  // A single send's data is the message; a send to several addresses', its messages; a bulk
  // send's, its results ({data} or {error}), one per message.
  const shaped = body as { data?: MessageData | (MessageData | BulkResult)[] };
  const datas = Array.isArray(shaped.data)
    ? shaped.data.flatMap((item) => ('error' in item ? [] : 'data' in item ? [item.data] : [item]))
    : shaped.data ? [shaped.data] : [];
  for (const data of datas) {
    const entry = byId.get(data.id);
    if (entry) Object.assign(data, { status: 'REJECTED', reason: 'SUPPRESSED', suppressionReason: entry.reason });
  }
}

/**
 * The REJECTED event's details: which entry of the list stopped the message, so that the event says
 * why. Its `reason` is spelt as the message's (`SUPPRESSED`, read.ts): one spelling for both.
 */
export function suppressedDetails(address: string, entry: Suppression): Record<string, unknown> {
  return { reason: 'SUPPRESSED', suppression: { address: entry.address, reason: entry.reason, messageId: entry.messageId, since: entry.createdAt }, recipient: address.toLowerCase() };
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}
