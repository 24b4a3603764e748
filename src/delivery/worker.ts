import { hostname } from 'node:os';
import type { Database } from '../db/database.js';
import { nextStatus, type EventType } from '../events/status.js';
import { retryDelayMs } from '../queue/backoff.js';
import { QUEUE_CHANNEL, Queue, type ClaimedMessage, type DeliveryResult } from '../queue/queue.js';
import { Batcher } from '../shared/batcher.js';
import type { Clock } from '../shared/clock.js';
import { randomToken } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';
import type { Metrics } from '../shared/metrics.js';
import { DkimSigner } from './dkim.js';
import { composeMime } from './mime.js';
import type { DeliveryOutcome, Transport } from './transport.js';
import { Signal } from './signal.js';

/** Names the process in event details, so an operator can tell which worker handled a message. */
const WORKER_ID = `${hostname()}:${process.pid}`;

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  maxRetryMs: number;
  /** Longest sleep with nothing due, in case a wake-up was missed. */
  idleMs?: number;
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
  private heldTokens = new Map<string, number>();

  constructor(
    db: Database,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
    private readonly metrics: Pick<Metrics, 'deliveries' | 'deliverySeconds' | 'dkimSeconds'>,
  ) {
    this.queue = new Queue(db);
    this.recorder = new Batcher<DeliveryResult, boolean>({
      maxBatch: 500,
      maxConcurrent: db.kind === 'postgres' ? 2 : 1,
      flush: async (results) => {
        const applied = await this.queue.record(results);
        return results.map((result) => applied.has(result.message_id));
      },
    });
    this.db = db;
    this.dkim = new DkimSigner(db);
  }

  private readonly db: Database;
  private readonly dkim: DkimSigner;

  /** Looks for due work now (e.g. after a test moved its clock). */
  wakeUp(): void {
    this.wake.fire();
  }

  async start(): Promise<void> {
    this.running = true;
    this.unlisten = await this.db.listen(QUEUE_CHANNEL, () => this.wake.fire());
    this.loop = this.run();
    this.log.info({ transport: this.transport.name, concurrency: this.options.concurrency }, 'delivery worker started');
  }

  /** Stops claiming, lets deliveries in flight finish (up to graceMs), then hands back leases of the rest. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake.fire();
    await this.loop;
    await this.unlisten?.();
    const finished = Promise.all(this.inFlight.values());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await this.recorder.drain();
    await this.queue.release([...this.heldTokens.keys()], this.clock.now());
    await this.transport.close();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const free = this.options.concurrency - this.inFlight.size;
        if (free > 0) {
          const claimed = await this.claim(Math.min(free, 200));
          if (claimed > 0) continue;
          await this.wake.wait(await this.sleepMs());
        } else {
          await this.wake.wait(this.options.idleMs ?? 5_000);
        }
      } catch (error) {
        this.log.error({ err: error }, 'delivery loop error; retrying in 1 s');
        await this.wake.wait(1_000);
      }
    }
  }

  private async sleepMs(): Promise<number> {
    const idle = this.options.idleMs ?? 5_000;
    const next = await this.queue.nextDue();
    if (!next) return idle;
    return Math.max(10, Math.min(idle, next.getTime() - this.clock.now().getTime()));
  }

  private async claim(limit: number): Promise<number> {
    const now = this.clock.now();
    const token = randomToken(12);
    const claimed = await this.queue.claim(now, new Date(now.getTime() + this.options.leaseMs), token, limit);
    if (claimed.length === 0) return 0;
    this.heldTokens.set(token, claimed.length);
    for (const message of claimed) {
      const work = this.deliver(message, token).finally(() => {
        this.inFlight.delete(message.message_id);
        const left = (this.heldTokens.get(token) ?? 1) - 1;
        if (left <= 0) this.heldTokens.delete(token);
        else this.heldTokens.set(token, left);
        this.wake.fire();
      });
      this.inFlight.set(message.message_id, work);
    }
    return claimed.length;
  }

  private async deliver(message: ClaimedMessage, token: string): Promise<void> {
    let outcome: DeliveryOutcome | { kind: 'failed'; error: string };
    try {
      const composed = await composeMime(message.content, message.message_id_hdr, new Date(message.created_at));
      const endSigning = this.metrics.dkimSeconds.startTimer();
      const raw = await this.dkim.sign(message.account_id, message.from_address, composed);
      endSigning();
      const endDelivery = this.metrics.deliverySeconds.startTimer({ transport: this.transport.name });
      outcome = await this.transport.deliver({
        messageId: message.message_id,
        accountId: message.account_id,
        envelope: message.envelope,
        subject: message.content.subject,
        raw,
      });
      endDelivery();
    } catch (error) {
      outcome = { kind: 'failed', error: (error as Error).message };
      this.log.error({ err: error, messageId: message.message_id }, 'delivery failed with an internal error');
    }
    this.metrics.deliveries.inc({ outcome: outcome.kind, transport: this.transport.name });
    try {
      await this.recorder.submit(this.resultOf(message, token, outcome));
    } catch (error) {
      // The lease will expire and the message will be tried again: at-least-once.
      this.log.error({ err: error, messageId: message.message_id }, 'could not record a delivery result');
    }
  }

  private resultOf(message: ClaimedMessage, token: string, outcome: DeliveryOutcome | { kind: 'failed'; error: string }): DeliveryResult {
    const now = this.clock.now();
    const base = { message_id: message.message_id, lease_token: token, at: now.toISOString(), retry_at: null, last_error: null };
    const details: Record<string, unknown> = { attempt: message.attempts, transport: this.transport.name, worker: WORKER_ID };
    let type: EventType;
    let retryAt: string | null = null;
    let lastError: string | null = null;
    switch (outcome.kind) {
      case 'delivered':
      case 'sent':
        type = outcome.kind === 'delivered' ? 'DELIVERED' : 'SENT';
        details.reply = outcome.reply;
        break;
      case 'bounced':
        type = 'BOUNCED';
        Object.assign(details, { reply: outcome.reply, code: outcome.code, enhancedCode: outcome.enhancedCode, bounceClass: outcome.bounceClass });
        break;
      case 'deferred': {
        details.reply = outcome.reply;
        details.code = outcome.code;
        const nextAttempt = now.getTime() + retryDelayMs(message.attempts);
        if (nextAttempt - new Date(message.queued_at).getTime() > this.options.maxRetryMs) {
          type = 'BOUNCED';
          Object.assign(details, { bounceClass: 'SOFT', reason: 'expired' });
        } else {
          type = 'DEFERRED';
          retryAt = new Date(nextAttempt).toISOString();
          details.nextAttemptAt = retryAt;
          lastError = outcome.reply;
        }
        break;
      }
      case 'failed':
        type = 'FAILED';
        details.error = outcome.error;
        break;
    }
    return { ...base, type, status: nextStatus(message.status, type) ?? message.status, details, retry_at: retryAt, last_error: lastError };
  }
}
