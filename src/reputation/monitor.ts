import type { Database } from '../db/database.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { enforceReputation, type ReputationAction, type ReputationPolicy } from './reputation.js';

/**
 * Runs the reputation check on a timer in the processes that record outcomes (workers and the
 * inbound MX), and soon after a bounce or complaint arrives (`poke`), so that an account that
 * crosses 5% stops sending within seconds rather than at the next tick.
 */
export class ReputationMonitor {
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private running: Promise<ReputationAction[]> | null = null;

  constructor(
    private readonly db: Database,
    private readonly policy: ReputationPolicy,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.intervalMs).unref();
  }

  /** A bounce or complaint was recorded: check within a second (several pokes share one check). */
  poke(): void {
    this.soon ??= setTimeout(() => {
      this.soon = null;
      void this.check();
    }, 1_000).unref();
  }

  /** One check now (waits for a running one instead of overlapping it). */
  async check(): Promise<ReputationAction[]> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        const actions = await enforceReputation(this.db, this.policy, this.clock.now());
        for (const action of actions) this.log.warn({ account: action.account, action: action.action, reason: action.reason }, `account ${action.action} for its reputation`);
        return actions;
      } catch (error) {
        this.log.error({ err: error }, 'reputation check failed; next tick retries');
        return [];
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = null;
    await this.running;
  }
}

export function reputationPolicy(config: { reputationWindowDays: number; reputationMinVolume: number; bounceRateWarn: number; bounceRateSuspend: number; complaintRateWarn: number; complaintRateSuspend: number }): ReputationPolicy {
  return {
    windowDays: config.reputationWindowDays,
    minVolume: config.reputationMinVolume,
    bounceRateWarn: config.bounceRateWarn,
    bounceRateSuspend: config.bounceRateSuspend,
    complaintRateWarn: config.complaintRateWarn,
    complaintRateSuspend: config.complaintRateSuspend,
  };
}
