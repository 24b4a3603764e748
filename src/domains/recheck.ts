import type { Database } from '../db/database.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { DomainChecker } from './checks.js';
import { claimRecheck, dropRetiredKeys } from './domains.js';
import type { DomainSettings } from './settings.js';
import { verifyDomain } from './verify.js';

// What src/app.ts needs to start the job, from one module.
export { domainSettings } from './settings.js';

export interface RecheckOptions {
  /** Domains claimed per run: a large installation is worked through in slices, not all at once. */
  batchSize: number;
  /** Domains checked at a time within a run (each check is a handful of DNS queries). */
  concurrency: number;
  /** How often the job looks for due domains. */
  intervalMs: number;
  /** The first look after start: not at start, which has enough to do. */
  firstRunMs: number;
}

export const DEFAULT_RECHECK_OPTIONS: RecheckOptions = { batchSize: 50, concurrency: 5, intervalMs: 15 * 60_000, firstRunMs: 60_000 };

/**
 * The daily re-check (runs with the worker role): every domain verified (or failed) by DNS and
 * last checked more than MAILROOM_DOMAIN_RECHECK_HOURS ago is verified again, so that a record
 * removed or changed later is noticed: the domain turns `failed` with a DOMAIN_VERIFICATION_FAILED
 * event (and may send for a grace, see isVerifiedDomain), and back to `verified` with a
 * DOMAIN_VERIFIED event once fixed. The same check ends a key rotation whose new record was
 * published, and forgets retiring keys after their overlap. Several workers share the due
 * domains (claimed with SKIP LOCKED).
 */
export class DomainRechecker {
  private readonly checker: DomainChecker;
  private readonly options: RecheckOptions;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly settings: DomainSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: Partial<RecheckOptions> = {},
  ) {
    this.options = { ...DEFAULT_RECHECK_OPTIONS, ...options };
    this.checker = new DomainChecker(settings);
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.options.firstRunMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce().then((count) => {
        // A full slice means more are due: the next one soon, rather than in an interval.
        this.schedule(count >= this.options.batchSize ? 1_000 : this.options.intervalMs);
      });
    }, delayMs).unref();
  }

  /** One slice now: returns how many domains were checked (waits for a running slice instead of overlapping it). */
  async runOnce(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.slice().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async slice(): Promise<number> {
    try {
      const now = this.clock.now();
      await dropRetiredKeys(this.db, now);
      const due = await claimRecheck(this.db, now, new Date(now.getTime() - this.settings.recheckHours * 3_600_000), this.options.batchSize);
      let next = 0;
      const work = async () => {
        // Stopping takes no new domain: the ones claimed and left wait for the next period.
        while (next < due.length && !this.stopped) {
          const domain = due[next++]!;
          await this.recheck(Number(domain.id), domain.domain);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.options.concurrency, due.length) }, work));
      return due.length;
    } catch (error) {
      this.log.error({ err: error }, 'domain re-check failed; the next run retries');
      return 0;
    }
  }

  private async recheck(id: number, name: string): Promise<void> {
    try {
      const outcome = await verifyDomain(this.db, this.checker, this.settings, null, id, this.clock.now());
      if (!outcome) return;
      const { view, previousStatus, promoted } = outcome;
      if (view.status !== previousStatus) {
        const failing = view.records.filter((record) => record.required && record.status !== 'verified').map((record) => `${record.type} ${record.name}: ${record.reason ?? record.status}`);
        if (view.status === 'failed') this.log.warn({ domain: name, records: failing }, 'domain failed its DNS re-check');
        else this.log.info({ domain: name, from: previousStatus }, `domain ${view.status} by its DNS re-check`);
      }
      if (promoted) this.log.info({ domain: name }, 'DKIM rotation: the new key signs from now on');
    } catch (error) {
      this.log.error({ err: error, domain: name }, 'domain re-check failed');
    }
  }
}
