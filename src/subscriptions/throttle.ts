/**
 * A fixed-window counter per key (an IP address, a list and an address) for the public subscribe
 * endpoint, which anyone on the Internet can post to. Kept in the process's memory: an attacker
 * spread over several API processes gets each one's allowance, which is still bounded, and a
 * table would turn every bot's request into a write. The map is bounded too (oldest windows
 * dropped first), so a flood of distinct keys cannot grow it without end.
 */
export interface ThrottleRule {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export class Throttle {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  constructor(
    private readonly rule: ThrottleRule,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one request of `key`; the seconds to wait when it is over the limit, else 0. */
  take(key: string, now: number): number {
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= this.rule.windowMs) {
      this.windows.delete(key);
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
      this.trim();
    }
    if (window.count >= this.rule.limit) return Math.max(1, Math.ceil((window.startedAt + this.rule.windowMs - now) / 1000));
    window.count++;
    return 0;
  }

  /**
   * Under a flood of distinct keys, drops the oldest windows (Map keeps insertion order, and a
   * window is re-inserted when it starts again) down to 90%, so that trimming runs once per
   * tenth of the map, not on every request.
   */
  private trim(): void {
    if (this.windows.size <= this.maxKeys) return;
    for (const key of this.windows.keys()) {
      if (this.windows.size <= this.maxKeys * 0.9) break;
      this.windows.delete(key);
    }
  }
}
