import type { Logger } from '../shared/log.js';
import type { Subscriptions } from './subscriptions.js';

/** How often the worker role deletes sign-ups nobody confirmed in time (the age is a setting). */
export const PURGE_INTERVAL_MS = 3_600_000;

/**
 * Runs Subscriptions.purgeUnconfirmed every hour in the worker role, the first time a minute
 * after start. Several workers may run it at once: each statement deletes what it finds, and a
 * row another deleted first is simply not there.
 */
export class UnconfirmedPurge {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly subscriptions: Subscriptions,
    private readonly log: Logger,
    private readonly intervalMs = PURGE_INTERVAL_MS,
  ) {}

  start(firstRunMs = 60_000): void {
    this.timer = setTimeout(() => this.tick(), firstRunMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    this.running = this.subscriptions.purgeUnconfirmed().then(
      (purged) => { if (purged > 0) this.log.info({ purged }, 'unconfirmed sign-ups purged'); },
      (error: unknown) => { this.log.warn({ err: error }, 'purging unconfirmed sign-ups failed; retried at the next run'); },
    ).finally(() => {
      this.running = null;
      if (this.timer) {
        this.timer = setTimeout(() => this.tick(), this.intervalMs);
        this.timer.unref();
      }
    });
  }
}
