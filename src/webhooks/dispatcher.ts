import { OpenCache } from '../crypto/openCache.js';
import { SealedValueError, type Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Signal } from '../delivery/signal.js';
import { QUEUE_CHANNEL } from '../queue/notifier.js';
import type { Clock } from '../shared/clock.js';
import { randomToken } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';
import { nextAttemptAt } from './backoff.js';
import { eventPayload, signingSecrets, webhookId, type PendingDelivery } from './payload.js';
import { UNORDERED_PIPELINE_DEPTH, type SendOutcome, type WebhookSender } from './sender.js';
import { pruneFinishedDeliveries } from './retention.js';
import { signatureHeaders } from './signing.js';

const sql = sqlFile(new URL('./outbox.sql', import.meta.url), ['claimLanes', 'renewLanes', 'pendingOfLanes', 'recordAttempts', 'disableWebhook', 'nextLaneDue'] as const);

/**
 * Batches one lane is sent before it is handed back, so that a busy endpoint does not keep the
 * others waiting when every slot is taken (they are claimed oldest-due first).
 */
const MAX_BATCHES_PER_CLAIM = 20;

export interface DispatcherOptions {
  /** Lanes (endpoints) sent to at once. */
  concurrency: number;
  /**
   * Deliveries read from a lane at a time (the next batch is read while one is sent). 400, not
   * 100: with fewer, a fast endpoint waited on the reads and records (measured, one unordered
   * webhook on PostgreSQL, 50,000 deliveries: 5,369/s at 100, 6,988/s at 400).
   */
  batch: number;
  /** How long a claimed lane stays with this dispatcher; a dead one's lanes are free after it. */
  leaseMs: number;
  /** Longest sleep with nothing due (new events of another process are found by then at the latest). */
  idleMs: number;
  /** How long finished deliveries and their attempts are kept (MAILROOM_WEBHOOK_RETENTION_DAYS). */
  retentionMs: number;
  /** Makes the lease tokens; the process's WorkerIdentity, so that a dead process's lanes are freed at once. */
  leaseToken?: () => string;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = { concurrency: 32, batch: 400, leaseMs: 5 * 60_000, idleMs: 1_000, retentionMs: 30 * 86_400_000 };
/** How often the dispatcher deletes finished deliveries past their retention. */
const PRUNE_EVERY_MS = 3_600_000;

interface Attempt {
  delivery_id: number;
  status: 'pending' | 'delivered' | 'failed';
  due_at: string;
  url: string;
  attempted_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response: string;
}

interface BatchOutcome {
  attempts: Attempt[];
  /** When the lane is due again because a delivery failed or is not due yet; null: it went through. */
  nextDue: Date | null;
  /** A webhook to disable: its delivery failed for the whole retry period. */
  disable: number | null;
}

/** Requests of a lane in flight at once: one keeps the order. */
function depthOf(delivery: PendingDelivery): number {
  return delivery.ordered ? 1 : UNORDERED_PIPELINE_DEPTH;
}

interface ClaimedLane {
  lane: string;
  version: number;
}

/**
 * Sends the outbox (webhook_deliveries, filled from the event log by a trigger) to webhooks and
 * callback URLs: at least once, in event order per endpoint. A lane (one endpoint) is claimed
 * with a lease, its pending deliveries are sent one after the other, and a failure stops the
 * lane until its retry is due (later events wait behind it: order over speed); after 24 h of
 * failures a delivery is given up, and a webhook that failed that long is disabled. Attempts
 * and the lane's next due time are recorded in one statement per lane batch; a crash before it
 * sends that batch again (at-least-once: receivers deduplicate on `webhook-id`).
 */
export class WebhookDispatcher {
  private readonly wake = new Signal();
  private running = false;
  private loop: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private readonly active = new Map<string, Promise<void>>();
  /** The lease token each active lane is held under (renewed while it is sent). */
  private readonly tokenOf = new Map<string, string>();
  private renewer: NodeJS.Timeout | null = null;
  private pruner: NodeJS.Timeout | null = null;

  /** The signing secrets, opened once per endpoint rather than for every delivery. */
  private readonly secrets: OpenCache;

  constructor(
    private readonly db: Database,
    private readonly sender: WebhookSender,
    sealer: Sealer,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: DispatcherOptions = DEFAULT_DISPATCHER_OPTIONS,
  ) {
    this.secrets = new OpenCache(sealer);
  }

  /** Looks for due deliveries now (after events were written in this process, or a test moved its clock). */
  wakeUp(): void {
    this.wake.fire();
  }

  async start(): Promise<void> {
    this.running = true;
    // New messages are announced on the queue channel; their events are in the outbox by then.
    this.unlisten = await this.db.listen(QUEUE_CHANNEL, () => this.wake.fire());
    this.loop = this.run();
    // A lane can take longer than its lease (a receiver that answers each request just inside
    // the time-out): a live dispatcher renews what it sends, so no other process takes the lane
    // and sends its events beside it, out of order. A dead one renews nothing.
    this.renewer = setInterval(() => void this.renewLeases(), Math.max(1_000, this.options.leaseMs / 3));
    this.renewer.unref();
    this.pruner = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruner.unref();
  }

  /** Deletes finished deliveries older than the retention period (hourly; also callable by tests and operators). */
  async prune(): Promise<number> {
    try {
      const deleted = await pruneFinishedDeliveries(this.db, new Date(this.clock.now().getTime() - this.options.retentionMs));
      if (deleted > 0) this.log.info({ deleted }, 'webhook deliveries past their retention deleted');
      return deleted;
    } catch (error) {
      this.log.error({ err: error }, 'could not delete webhook deliveries past their retention');
      return 0;
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.tokenOf.size === 0) return;
    try {
      await this.db.query(sql.renewLanes, [[...this.tokenOf.keys()], [...new Set(this.tokenOf.values())], new Date(this.clock.now().getTime() + this.options.leaseMs)], 'webhookRenewLanes');
    } catch (error) {
      this.log.error({ err: error }, 'could not renew the leases of webhook lanes being sent');
    }
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake.fire();
    await this.loop;
    if (this.renewer) clearInterval(this.renewer);
    if (this.pruner) clearInterval(this.pruner);
    await this.unlisten?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.active.values()), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.sender.close();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const free = this.options.concurrency - this.active.size;
        if (free <= 0) {
          await this.wake.wait(this.options.idleMs);
          continue;
        }
        const claimed = await this.claim(free);
        if (claimed > 0) continue;
        await this.wake.wait(await this.sleepMs());
      } catch (error) {
        this.log.error({ err: error }, 'webhook dispatcher error; retrying in 1 s');
        await this.wake.wait(1_000);
      }
    }
  }

  private async sleepMs(): Promise<number> {
    if (this.active.size > 0) return this.options.idleMs;
    const [row] = await this.db.query<{ due_at: Date | null }>(sql.nextLaneDue, [], 'webhookNextLaneDue');
    if (!row?.due_at) return this.options.idleMs;
    return Math.max(5, Math.min(this.options.idleMs, new Date(row.due_at).getTime() - this.clock.now().getTime()));
  }

  private async claim(limit: number): Promise<number> {
    const now = this.clock.now();
    const token = this.options.leaseToken?.() ?? randomToken(12);
    const lanes = await this.db.query<ClaimedLane & Record<string, unknown>>(
      sql.claimLanes, [now, token, new Date(now.getTime() + this.options.leaseMs), limit, [...this.active.keys()]], 'webhookClaimLanes',
    );
    if (lanes.length === 0) return 0;
    const rows = await this.db.query<PendingDelivery & Record<string, unknown>>(sql.pendingOfLanes, [lanes.map((lane) => lane.lane), this.options.batch, 0, 0], 'webhookPending');
    const byLane = new Map<string, PendingDelivery[]>();
    for (const row of rows) {
      const list = byLane.get(row.lane);
      if (list) list.push(row);
      else byLane.set(row.lane, [row]);
    }
    for (const lane of lanes) {
      const work = this.sendLane(lane, token, byLane.get(lane.lane) ?? [])
        .catch((error: unknown) => this.log.error({ err: error, lane: lane.lane }, 'webhook lane failed; it is sent again when its lease ends'))
        .finally(() => {
          this.active.delete(lane.lane);
          this.tokenOf.delete(lane.lane);
          this.wake.fire();
        });
      this.active.set(lane.lane, work);
      this.tokenOf.set(lane.lane, token);
    }
    return lanes.length;
  }

  /**
   * Sends a lane's deliveries in order until one fails, one is not due yet, or the lane is empty,
   * then hands it back. While a batch is sent the next is read, and the previous one's attempts
   * are recorded, so the endpoint waits on neither; the records are applied in order, the last
   * one with the lane's next due time.
   */
  private async sendLane(lane: ClaimedLane, token: string, first: PendingDelivery[]): Promise<void> {
    let batch = first;
    let recorded: Promise<void> = Promise.resolve();
    let outcome: BatchOutcome = { attempts: [], nextDue: null, disable: null };
    for (let round = 1; ; round++) {
      const last = batch.at(-1);
      const more = last && batch.length >= this.options.batch && round < MAX_BATCHES_PER_CLAIM;
      const next = more ? this.pendingAfter(lane.lane, last) : null;
      // Read ahead is dropped (its rows stay pending) if this batch stops the lane.
      next?.catch(() => {});
      outcome = await this.sendBatch(batch);
      const stopped = outcome.nextDue !== null || outcome.disable !== null;
      if (stopped || !next) {
        // Deliveries may remain: after MAX_BATCHES_PER_CLAIM, or a full last batch read by no one.
        if (!stopped && last && batch.length >= this.options.batch) outcome.nextDue = this.clock.now();
        break;
      }
      const attempts = outcome.attempts;
      recorded = recorded.then(() => this.record(attempts, null));
      outcome = { attempts: [], nextDue: null, disable: null };
      batch = await next;
      if (batch.length === 0) break;
    }
    const final = outcome;
    await recorded.then(() => this.record(final.attempts, { lane: lane.lane, token, version: lane.version, next_due_at: final.nextDue?.toISOString() ?? null }));
    if (final.disable !== null) {
      const reason = 'its deliveries failed for 24 hours';
      const [disabled] = await this.db.query(sql.disableWebhook, [final.disable, reason, this.clock.now()], 'webhookDisable');
      if (disabled) this.log.warn({ webhookId: final.disable }, `webhook disabled: ${reason}`);
    }
  }

  private pendingAfter(lane: string, last: PendingDelivery): Promise<PendingDelivery[]> {
    return this.db.query<PendingDelivery & Record<string, unknown>>(sql.pendingOfLanes, [[lane], this.options.batch, last.event_id, last.id], 'webhookPending');
  }

  private async record(attempts: Attempt[], finish: { lane: string; token: string; version: number; next_due_at: string | null } | null): Promise<void> {
    if (attempts.length === 0 && !finish) return;
    await this.db.query(sql.recordAttempts, [JSON.stringify(attempts), JSON.stringify(finish ? [finish] : [])], 'webhookRecordAttempts');
  }

  /**
   * Sends deliveries in order until one fails or is not due; says when the lane is next due
   * (null: not stopped). An ordered lane has one request in flight; a webhook created with
   * `ordered: false` up to UNORDERED_PIPELINE_DEPTH, written in order on its connection, their
   * answers taken in the same order. When one fails, no further request is started, and those
   * already written behind it are recorded as they came out: each success as delivered (ahead
   * of the failed one: the order the webhook gave up), each failure for its own retry.
   */
  private async sendBatch(deliveries: PendingDelivery[]): Promise<BatchOutcome> {
    const attempts: Attempt[] = [];
    const inFlight: { delivery: PendingDelivery; now: Date; outcome: Promise<SendOutcome> }[] = [];
    let stop: { nextDue: Date | null; disable: number | null } | null = null;
    let next = 0;
    while (inFlight.length > 0 || (stop === null && next < deliveries.length)) {
      while (stop === null && next < deliveries.length && inFlight.length < depthOf(deliveries[next]!)) {
        const delivery = deliveries[next]!;
        const now = this.clock.now();
        if (new Date(delivery.due_at) > now) {
          stop = { nextDue: new Date(delivery.due_at), disable: null };
          break;
        }
        inFlight.push({ delivery, now, outcome: this.send(delivery, now) });
        next++;
      }
      const head = inFlight.shift();
      if (!head) break;
      const { attempt, retryAt, giveUp } = this.attemptOf(head.delivery, head.now, await head.outcome);
      attempts.push(attempt);
      if (attempt.status === 'delivered' || stop !== null) continue;
      // The first failure of the batch decides when the lane is due again.
      if (retryAt) stop = { nextDue: retryAt, disable: null };
      else if (giveUp) stop = { nextDue: null, disable: giveUp };
    }
    return { attempts, nextDue: stop?.nextDue ?? null, disable: stop?.disable ?? null };
  }

  /** The attempt row for a delivery's outcome: delivered, pending (with its retry time) or failed for good. */
  private attemptOf(delivery: PendingDelivery, now: Date, outcome: SendOutcome): { attempt: Attempt; retryAt: Date | null; giveUp: number | null } {
    const attempt: Attempt = {
      delivery_id: delivery.id,
      status: 'delivered',
      due_at: new Date(delivery.due_at).toISOString(),
      url: delivery.url,
      attempted_at: now.toISOString(),
      duration_ms: outcome.durationMs,
      status_code: outcome.statusCode,
      error: outcome.error,
      response: outcome.response,
    };
    if (outcome.ok) return { attempt, retryAt: null, giveUp: null };
    const retryAt = outcome.refused ? null : nextAttemptAt(new Date(delivery.created_at), delivery.attempts + 1, this.clock.now());
    if (retryAt) {
      attempt.status = 'pending';
      attempt.due_at = retryAt.toISOString();
      return { attempt, retryAt, giveUp: null };
    }
    attempt.status = 'failed';
    // A webhook whose delivery failed for the whole retry period is down, not unlucky. (A
    // refused target is the URL's fault, caught at creation; a callback has no webhook.)
    return { attempt, retryAt: null, giveUp: delivery.webhook_id !== null && !outcome.refused ? delivery.webhook_id : null };
  }

  private send(delivery: PendingDelivery, now: Date): Promise<SendOutcome> {
    let secrets: string[];
    try {
      secrets = signingSecrets(delivery, now, this.secrets);
    } catch (error) {
      if (!(error instanceof SealedValueError)) throw error;
      // Nothing unsigned ever leaves: the attempt fails and is retried like any other, and the
      // account sees why without the installation's key ids.
      this.log.error({ err: error, lane: delivery.lane }, 'a signing secret does not open; the delivery is retried');
      return Promise.resolve({
        ok: false, statusCode: null, error: 'the signing secret could not be read (an installation key problem); retried', response: '', durationMs: 0, refused: false,
      });
    }
    const body = JSON.stringify(eventPayload(delivery));
    const headers = signatureHeaders(webhookId(delivery.event_id), Math.floor(now.getTime() / 1000), body, secrets);
    return this.sender.post(delivery.url, body, { ...headers }, delivery.lane, depthOf(delivery));
  }
}
