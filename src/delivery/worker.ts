import { hostname } from 'node:os';
import type { Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { bounceDomainFor, type Verp } from '../bounces/verp.js';
import { QUEUE_CHANNEL, Queue, type ClaimedMessage, type DeliveryResult } from '../queue/queue.js';
import { Batcher, MAX_BATCH_BYTES } from '../shared/batcher.js';
import type { Clock } from '../shared/clock.js';
import { randomToken } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';
import type { Metrics } from '../shared/metrics.js';
import { SigningKeys } from './dkim.js';
import { KeyCache, prepareMessage } from './prepare.js';
import { resultOfAttempt, resultOfFailure } from './outcome.js';
import type { Transport } from './transport.js';
import { Signal } from './signal.js';
import { trackingPlan, type TrackingPlan } from '../tracking/decorate.js';
import type { TrackingLinks } from '../tracking/links.js';
import { HipaaVault } from '../hipaa/vault.js';
import type { Content } from '../sending/render.js';

/** A claimed message whose content is readable: as stored, or a HIPAA message opened by the vault. */
type OpenMessage = ClaimedMessage & { content: Content };

/**
 * Under load the worker claims in batches of at least a quarter of its concurrency: each claim
 * is one statement with a fixed cost (about 1 ms on PGlite), and claiming for every freed slot
 * made claims of one or two rows. A free slot waits at most CLAIM_LINGER_MS for company, so a
 * few slow deliveries never hold back due mail.
 */
const CLAIM_LINGER_MS = 20;
/**
 * Messages waiting for a slot at a saturated destination do not count against the concurrency
 * (see Transport.waiting), but all claimed messages together stay under this many times it, which
 * bounds memory and the leases held.
 */
const MAX_CLAIMED_FACTOR = 4;

/**
 * Bytes of message content one worker holds in delivery at once (each claimed message is held as
 * its content, its composed MIME and the transport's copy): a few 10 MB messages, or thousands
 * of small ones. A message larger than what is left waits until deliveries finish; with nothing
 * in delivery, the next due message is taken whatever its size.
 */
export const MAX_BYTES_IN_FLIGHT = 32 * 1024 * 1024;

/** Names the process in event details, so an operator can tell which worker handled a message. */
const WORKER_ID = `${hostname()}:${process.pid}`;

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  maxRetryMs: number;
  /** Longest sleep with nothing due, in case a wake-up was missed. */
  idleMs?: number;
  verp: Verp;
  /** Opens the DKIM private keys, which are stored sealed. */
  secrets: Sealer;
  /** Opens HIPAA messages (src/hipaa/vault.ts); made from `secrets` when absent. */
  vault?: HipaaVault;
  /** MAILROOM_BOUNCE_DOMAIN; empty = bounces.<sending domain>. */
  bounceDomain: string;
  /**
   * The bare address of Mailroom's own mail (sender and list confirmations, MAILROOM_SYSTEM_SENDER):
   * its results say `system: true`, and so count toward no account's reputation (migration 031).
   */
  systemAddress?: string;
  /** Makes the lease tokens; the process's WorkerIdentity, so that a dead process's messages are handed back at once. */
  leaseToken?: () => string;
  /** Makes the tracking and unsubscribe URLs; absent: messages go out as stored (tests of other parts). */
  links?: TrackingLinks;
  /**
   * Called after results (and so their events) are committed: the webhook dispatcher has news;
   * `bounced` says whether any of them was a bounce (the reputation check has news).
   */
  onRecorded?: (bounced: boolean) => void;
}

/**
 * Claims due messages, delivers them through the transport and records each result. Wakes on
 * NOTIFY from the ingest statement, on a finished delivery, or when the next row falls due;
 * it never polls on a short timer.
 *
 * Results are written through a group-commit batcher as soon as each delivery returns, which
 * keeps the window between "the next hop has it" and "we know it" (the duplicate window after a
 * crash) to one batch.
 */
export class DeliveryWorker {
  private readonly queue: Queue;
  private readonly recorder: Batcher<DeliveryResult, boolean>;
  private readonly wake = new Signal();
  private running = false;
  private loop: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private inFlight = new Map<string, Promise<void>>();
  /** Sizes of the messages in `inFlight`, summed (see MAX_BYTES_IN_FLIGHT). */
  private bytesInFlight = 0;
  /** The lease each message in flight is held under (renewed, and handed back at a stop). */
  private leaseOf = new Map<string, string>();
  private lastClaimAt = 0;
  private renewer: NodeJS.Timeout | null = null;
  private readonly claimBatch: number;
  private readonly recordFirst: boolean;

  constructor(
    db: Database,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
    private readonly metrics: Pick<Metrics, 'deliveries' | 'deliverySeconds' | 'dkimSeconds'>,
  ) {
    this.queue = new Queue(db);
    this.claimBatch = Math.max(1, Math.floor(options.concurrency / 4));
    this.recordFirst = db.kind === 'pglite';
    this.recorder = new Batcher<DeliveryResult, boolean>({
      maxBatch: 500,
      maxConcurrent: db.kind === 'postgres' ? 2 : 1,
      // A sandbox result carries the caught message (DeliveryResult.caught): large ones are
      // recorded a few at a time, or one statement would hold them all (see MAX_BATCH_BYTES).
      maxWeight: MAX_BATCH_BYTES,
      weight: (result) => result.caught?.raw.length ?? 0,
      flush: async (results) => {
        const applied = await this.queue.record(results);
        this.options.onRecorded?.(results.some((result) => result.type === 'BOUNCED'));
        return results.map((result) => applied.has(result.message_id));
      },
    });
    this.db = db;
    this.keys = new SigningKeys(db, options.secrets);
    this.vault = options.vault ?? new HipaaVault(db, options.secrets);

  }

  private readonly db: Database;
  private readonly keys: SigningKeys;
  private readonly vault: HipaaVault;
  private readonly parsedKeys = new KeyCache();

  /** Looks for due work now (e.g. after a test moved its clock). */
  wakeUp(): void {
    this.wake.fire();
  }

  async start(): Promise<void> {
    this.running = true;
    this.unlisten = await this.db.listen(QUEUE_CHANNEL, () => this.wake.fire());
    // A message that starts to wait for its destination frees a slot for another destination.
    this.transport.onWaiting?.(() => this.wake.fire());
    this.loop = this.run();
    // A message can wait longer than its lease (a stalled receiver answers each command only at
    // its time-out, and a backlog waits behind it): a live worker renews what it holds, so no
    // other worker takes a message that is still being delivered. A dead one renews nothing.
    this.renewer = setInterval(() => void this.renewLeases(), Math.max(1_000, this.options.leaseMs / 3));
    this.renewer.unref();
    this.log.info({ transport: this.transport.name, concurrency: this.options.concurrency }, 'delivery worker started');
  }

  /** Stops claiming, lets deliveries in flight finish (up to graceMs), then hands back leases of the rest. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake.fire();
    await this.loop;
    if (this.renewer) clearInterval(this.renewer);
    await this.unlisten?.();
    const finished = Promise.all(this.inFlight.values());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await this.recorder.drain();
    await this.queue.release(this.heldTokens(), this.clock.now());
    await this.transport.close();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const waiting = this.transport.waiting?.() ?? 0;
        const roomForBytes = this.inFlight.size === 0 || this.bytesInFlight < MAX_BYTES_IN_FLIGHT;
        const free = roomForBytes ? Math.min(this.options.concurrency - (this.inFlight.size - waiting), this.options.concurrency * MAX_CLAIMED_FACTOR - this.inFlight.size) : 0;
        const sinceClaim = Date.now() - this.lastClaimAt;
        if (free >= this.claimBatch || (free > 0 && (this.inFlight.size === 0 || sinceClaim >= CLAIM_LINGER_MS))) {
          // PGlite runs one statement at a time on this thread: a claim taken while results wait
          // to be recorded holds them back (and the replies that arrive meanwhile), which widens
          // the window in which a crash sends delivered mail again. Results go first.
          if (this.recordFirst) await this.recorder.drain();
          this.lastClaimAt = Date.now();
          const { claimed, skippedBusy, heldBytes } = await this.claim(Math.min(free, 200));
          if (claimed > 0) continue;
          // With destinations saturated, what is due may be all theirs; with bytes held, what is
          // due may be too large for now: the next finished delivery (which fires the signal) is
          // the moment to look again, not the next due_at.
          await this.wake.wait(skippedBusy || heldBytes ? this.options.idleMs ?? 5_000 : await this.sleepMs());
        } else if (free > 0) {
          await this.wake.wait(CLAIM_LINGER_MS - sinceClaim);
        } else {
          await this.wake.wait(this.options.idleMs ?? 5_000);
        }
      } catch (error) {
        this.log.error({ err: error }, 'delivery loop error; retrying in 1 s');
        await this.wake.wait(1_000);
      }
    }
  }

  private heldTokens(): string[] {
    return [...new Set(this.leaseOf.values())];
  }

  private async renewLeases(): Promise<void> {
    try {
      await this.queue.renew(this.heldTokens(), new Date(this.clock.now().getTime() + this.options.leaseMs));
    } catch (error) {
      this.log.error({ err: error }, 'could not renew the leases of messages in delivery');
    }
  }

  private async sleepMs(): Promise<number> {
    const idle = this.options.idleMs ?? 5_000;
    const next = await this.queue.nextDue();
    if (!next) return idle;
    return Math.max(10, Math.min(idle, next.getTime() - this.clock.now().getTime()));
  }

  private async claim(limit: number): Promise<{ claimed: number; skippedBusy: boolean; heldBytes: boolean }> {
    const now = this.clock.now();
    const token = this.options.leaseToken?.() ?? randomToken(12);
    const busy = this.transport.busyDomains?.() ?? [];
    // A message whose lease ran out while this worker still delivers it (a stalled host missed
    // the renewal) is due again: this worker must not take it back and send it twice (another
    // worker may; at-least-once). Its result is recorded under the lease it was claimed with,
    // which still holds unless another worker took the message.
    const ownInFlight = [...this.inFlight.keys()];
    const budget = { bytes: Math.max(0, MAX_BYTES_IN_FLIGHT - this.bytesInFlight), atLeastOne: this.inFlight.size === 0 };
    const claimed = await this.queue.claim(now, new Date(now.getTime() + this.options.leaseMs), token, limit, busy, ownInFlight, budget);
    if (claimed.length === 0) return { claimed: 0, skippedBusy: busy.length > 0, heldBytes: this.bytesInFlight > 0 };
    for (const message of claimed) {
      this.leaseOf.set(message.message_id, token);
      this.bytesInFlight += message.size;
      const work = this.deliver(message, token).finally(() => {
        this.inFlight.delete(message.message_id);
        this.leaseOf.delete(message.message_id);
        this.bytesInFlight -= message.size;
        this.wake.fire();
      });
      this.inFlight.set(message.message_id, work);
    }
    return { claimed: claimed.length, skippedBusy: busy.length > 0, heldBytes: this.bytesInFlight > 0 };
  }

  private async deliver(claimed: ClaimedMessage, token: string): Promise<void> {
    let message: OpenMessage;
    try {
      message = this.open(claimed);
    } catch (error) {
      // A HIPAA message that cannot be opened (its data key is gone, or the key ring lacks the
      // key that wrapped it): nothing can be sent. Failing the attempt keeps it queued for the
      // operator to fix the ring, and logs the why without any of its content.
      this.log.error({ messageId: claimed.message_id, error: (error as Error).message }, 'a HIPAA message could not be opened for delivery');
      message = { ...claimed, content: { kind: 'raw', bodyId: '', to: '', from: '', subject: '', cc: [], bcc: [], size: 0, type: 'transactional', trackOpens: null, trackClicks: null }, body: null };
      const context = { message, leaseToken: token, now: this.clock.now(), maxRetryMs: this.options.maxRetryMs, details: { attempt: claimed.attempts, transport: this.transport.name, worker: WORKER_ID } };
      await this.record(resultOfFailure(context, claimed.pending_recipients ?? claimed.envelope.to, 'the message could not be opened'));
      return;
    }
    const context = {
      message,
      leaseToken: token,
      now: this.clock.now(),
      maxRetryMs: this.options.maxRetryMs,
      details: { attempt: message.attempts, transport: this.transport.name, worker: WORKER_ID, ...(message.from_address === this.options.systemAddress ? { system: true } : {}) } as Record<string, unknown>,
    };
    let result: DeliveryResult;
    // Settled once the result is committed; the SMTP connection that carried this message holds
    // its next final dot until then (OutboundMessage.recorded).
    let markRecorded!: () => void;
    const recorded = new Promise<void>((resolve) => (markRecorded = resolve));
    try {
      const { keys, verified: verifiedDomain } = await this.keys.senderDomain(message.account_id, message.from_address);
      const links = this.options.links;
      const tracking = links && {
        messageId: message.message_id,
        links,
        plan: withoutHipaaClicks(trackingPlan(message.content, { trackOpens: message.account_track_opens, trackClicks: message.account_track_clicks }), message.account_hipaa),
      };
      const { raw, signMs } = await prepareMessage({
        content: message.content, body: message.body, messageIdHeader: message.message_id_hdr, createdAt: new Date(message.created_at).getTime(), keys, tracking,
      }, this.parsedKeys);
      if (keys.length > 0) this.metrics.dkimSeconds.observe(signMs / 1000);
      // Which signatures the message carries, for its timeline (the console's DKIM details): "none" says it went unsigned.
      context.details.dkim = keys.length > 0 ? keys.map((key) => `${key.domain} ${key.selector} ${key.algorithm}`).join(', ') : 'none';
      const endDelivery = this.metrics.deliverySeconds.startTimer({ transport: this.transport.name });
      const report = await this.transport.deliver({
        messageId: message.message_id,
        accountId: message.account_id,
        envelope: { from: message.envelope.from, to: message.pending_recipients ?? message.envelope.to },
        returnPath: (recipients) => this.returnPath(message, recipients, verifiedDomain),
        subject: message.content.subject,
        raw,
        recorded,
        hipaa: message.account_hipaa,
      });
      endDelivery();
      context.now = this.clock.now();
      result = resultOfAttempt(context, report);
      if (report.caught) result.caught = report.caught;
      for (const recipient of report.recipients) {
        const outcome = recipient.outcome === 'delivered' ? report.acceptedAs : recipient.outcome;
        this.metrics.deliveries.inc({ outcome, transport: this.transport.name, reason: recipient.reason ?? 'none' });
      }
    } catch (error) {
      // A HIPAA message's error may quote what it carries: its log line names the error's kind only.
      this.log.error(message.account_hipaa ? { error: (error as Error).name, messageId: message.message_id } : { err: error, messageId: message.message_id }, 'delivery failed with an internal error');
      this.metrics.deliveries.inc({ outcome: 'failed', transport: this.transport.name, reason: 'internal' });
      context.now = this.clock.now();
      result = resultOfFailure(context, message.pending_recipients ?? message.envelope.to, (error as Error).message);
    }
    if (claimed !== message) {
      // A HIPAA message's result names recipients by their keyed hashes only.
      result.pending_recipients = result.pending_recipients?.map((address) => hashedRecipient(claimed, message, address)) ?? null;
      const recipients = result.details.recipients;
      if (Array.isArray(recipients)) {
        result.details.recipients = recipients.map((entry: Record<string, unknown>) => ({ ...entry, address: hashedRecipient(claimed, message, String(entry.address)) }));
      }
    }
    try {
      await this.record(result);
    } finally {
      markRecorded();
    }
  }

  private async record(result: DeliveryResult): Promise<void> {
    try {
      await this.recorder.submit(result);
    } catch (error) {
      // The lease will expire and the message will be tried again: at-least-once.
      this.log.error({ err: error, messageId: result.message_id }, 'could not record a delivery result');
    }
  }

  /**
   * The message as delivery reads it. A HIPAA message is decrypted here, in memory only; its
   * pending recipients (after a partial delivery) are stored as keyed hashes, found again by
   * their place in the envelope.
   */
  private open(message: ClaimedMessage): OpenMessage {
    if (message.content.kind !== 'sealed' && message.content.kind !== 'shredded') return message as OpenMessage;
    const opened = this.vault.open(message);
    const pending = message.pending_recipients?.map((hash) => opened.envelope.to[message.envelope.to.indexOf(hash)]).filter((address): address is string => address !== undefined) ?? null;
    return { ...message, content: opened.content, envelope: opened.envelope, body: opened.body, pending_recipients: pending };
  }

  /**
   * The VERP Return-Path (names the recipient too when the transaction carries only one), at the
   * bounce domain; the sender's own address when there is none for it (bounceDomainFor).
   */
  private returnPath(message: OpenMessage, recipients: readonly string[], verifiedDomain: boolean): string {
    const fromDomain = message.from_address.slice(message.from_address.lastIndexOf('@') + 1);
    const bounceDomain = bounceDomainFor(this.options.bounceDomain, fromDomain, verifiedDomain);
    if (bounceDomain === null) return message.envelope.from;
    const index = recipients.length === 1 ? message.envelope.to.indexOf(recipients[0]!) : -1;
    return this.options.verp.address({ messageId: message.message_id, recipientIndex: index >= 0 ? index : null, bounceDomain });
  }
}

/** A HIPAA message's recipient as its queue row keeps it: the keyed hash at the same place in the envelope. */
function hashedRecipient(stored: ClaimedMessage, opened: OpenMessage, address: string): string {
  return stored.envelope.to[opened.envelope.to.indexOf(address)] ?? '';
}

/** A tracked click link carries its target URL (content): never in a HIPAA account's mail (docs/HIPAA.md). */
function withoutHipaaClicks(plan: TrackingPlan, hipaa: boolean): TrackingPlan {
  return hipaa ? { ...plan, clicks: false } : plan;
}
