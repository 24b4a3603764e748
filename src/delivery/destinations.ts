import type { DestinationLimitRule } from '../config/parsers.js';

export interface DestinationLimits {
  concurrency: number;
  /** Messages per second; 0 = no limit. */
  ratePerSecond: number;
}

/** How long a destination that refused every connection is left alone before trying again. */
const DEAD_AFTER_FAILURES = 3;
const DEAD_FOR_MS = 60_000;

/**
 * One lane per destination (an MX host set): at most `concurrency` transactions at once and at
 * most `ratePerSecond` messages started per second, so that every domain hosted by one provider
 * shares that provider's budget. A destination whose hosts refused several connections in a row
 * is marked dead for a minute: messages for it are deferred at once instead of each waiting for
 * its own time-out, and the worker stops claiming them (`saturated`), so a dead or slow
 * destination never holds back the others.
 */
class Lane {
  active = 0;
  private readonly waiters: (() => void)[] = [];
  private nextStartAt = 0;
  private connectionFailures = 0;
  deadUntil = 0;
  lastFailure = '';

  /** `onWaitChange(+1 | -1)`: a transaction started or stopped waiting for a slot here. */
  constructor(readonly limits: DestinationLimits, private readonly onWaitChange: (delta: 1 | -1) => void) {}

  get waiting(): number {
    return this.waiters.length;
  }

  async acquire(): Promise<void> {
    if (this.active >= this.limits.concurrency) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.onWaitChange(1);
      });
    } else {
      this.active++;
    }
    if (this.limits.ratePerSecond > 0) {
      const now = Date.now();
      const startAt = Math.max(now, this.nextStartAt);
      this.nextStartAt = startAt + 1000 / this.limits.ratePerSecond;
      if (startAt > now) await new Promise((resolve) => setTimeout(resolve, startAt - now));
    }
  }

  release(): void {
    const next = this.waiters.shift();
    // The slot passes straight to the next waiter, so `active` stays as it is.
    if (next) {
      this.onWaitChange(-1);
      next();
    } else {
      this.active--;
    }
  }

  recordConnection(ok: boolean, error = ''): void {
    if (ok) {
      this.connectionFailures = 0;
      this.deadUntil = 0;
      return;
    }
    this.lastFailure = error;
    if (++this.connectionFailures >= DEAD_AFTER_FAILURES) this.deadUntil = Date.now() + DEAD_FOR_MS;
  }
}

export class Destinations {
  private readonly lanes = new Map<string, Lane>();
  private waitListener: () => void = () => undefined;
  /** Kept as lanes change, not summed on demand: the worker reads it on every turn of its loop. */
  private waitingTotal = 0;

  constructor(private readonly defaults: DestinationLimits, private readonly rules: readonly DestinationLimitRule[] = []) {}

  /** The limits for a destination: the first rule matching one of its MX hosts, else the defaults. */
  limitsFor(mxHosts: readonly string[]): DestinationLimits {
    const rule = this.rules.find((candidate) => mxHosts.some((host) => hostMatches(host, candidate.match)));
    return {
      concurrency: rule?.concurrency || this.defaults.concurrency,
      ratePerSecond: rule?.ratePerSecond ?? this.defaults.ratePerSecond,
    };
  }

  /** Runs one transaction within the destination's limits. */
  async run<T>(destination: string, mxHosts: readonly string[], work: () => Promise<T>): Promise<T> {
    const lane = this.lane(destination, mxHosts);
    await lane.acquire();
    try {
      return await work();
    } finally {
      lane.release();
    }
  }

  /** The reason to skip a destination that refused its last connections, or null. */
  deadReason(destination: string): string | null {
    const lane = this.lanes.get(destination);
    if (!lane || lane.deadUntil <= Date.now()) return null;
    return lane.lastFailure;
  }

  recordConnection(destination: string, ok: boolean, error?: string): void {
    this.lanes.get(destination)?.recordConnection(ok, error);
  }

  /** Transactions waiting for a slot at their destination, over all destinations. */
  waiting(): number {
    return this.waitingTotal;
  }

  /** Called whenever a transaction starts to wait for a slot. */
  onWaiting(listener: () => void): void {
    this.waitListener = listener;
  }

  /** Destinations with more waiting than they can start: the worker claims nothing more for them. */
  saturated(): Set<string> {
    const full = new Set<string>();
    for (const [destination, lane] of this.lanes) {
      if (lane.waiting >= lane.limits.concurrency || lane.deadUntil > Date.now()) full.add(destination);
    }
    return full;
  }

  private lane(destination: string, mxHosts: readonly string[]): Lane {
    let lane = this.lanes.get(destination);
    if (!lane) {
      lane = new Lane(this.limitsFor(mxHosts), (delta) => {
        this.waitingTotal += delta;
        if (delta > 0) this.waitListener();
      });
      this.lanes.set(destination, lane);
    }
    return lane;
  }
}

function hostMatches(host: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return host === pattern;
}
