import { performance } from 'node:perf_hooks';

interface Tracker {
  target: number;
  firstAt: number | null;
  resolve(times: { firstAt: number; doneAt: number }): void;
}

/**
 * A sink's running message count and the waits on it (`track`), shared by the sinks in this
 * folder: each reads its count its own way (smtp-sink's status line, the TLS sink's output) and
 * reports it with `update`.
 */
export class MessageCounter {
  private value = 0;
  private trackers: Tracker[] = [];

  constructor(private readonly name: string) {}

  get count(): number {
    return this.value;
  }

  /** A new count from the sink; counts that do not grow are ignored. */
  update(count: number): void {
    if (!Number.isInteger(count) || count <= this.value) return;
    this.value = count;
    const now = performance.now();
    for (const tracker of this.trackers) tracker.firstAt ??= now;
    const done = this.trackers.filter((tracker) => count >= tracker.target);
    if (done.length === 0) return;
    this.trackers = this.trackers.filter((tracker) => count < tracker.target);
    for (const tracker of done) tracker.resolve({ firstAt: tracker.firstAt ?? now, doneAt: now });
  }

  /**
   * Resolves when `more` messages beyond the current count have arrived, with the times
   * (performance.now()) of the first and the last of them; rejects when nothing arrives for `stallMs`.
   */
  track(more: number, stallMs: number): Promise<{ firstAt: number; doneAt: number }> {
    const target = this.value + more;
    return new Promise((resolve, reject) => {
      let last = this.value;
      let lastChange = performance.now();
      const timer = setInterval(() => {
        if (this.value !== last) {
          last = this.value;
          lastChange = performance.now();
        } else if (performance.now() - lastChange > stallMs) {
          clearInterval(timer);
          this.trackers = this.trackers.filter((tracker) => tracker.target !== target);
          reject(new Error(`${this.name} stuck at ${this.value - (target - more)} of ${more} messages for ${stallMs / 1000} s`));
        }
      }, 250);
      this.trackers.push({
        target,
        firstAt: null,
        resolve: (times) => {
          clearInterval(timer);
          resolve(times);
        },
      });
    });
  }
}
