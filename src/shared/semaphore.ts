/**
 * At most `permits` holders at once; the others wait in arrival order, however long (a waiter is
 * never refused). `acquire` resolves with the release function, which is safe to call twice.
 */
export class Semaphore {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new Error(`a semaphore needs at least one permit, not ${permits}`);
    this.available = permits;
  }

  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The permit passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next();
      else this.available++;
    };
  }

  /** Holders waiting for a permit now. */
  get waiting(): number {
    return this.waiters.length;
  }
}
