/**
 * A campaign's send rate, held by the queue's own clock: each message is stored with its due
 * time, the next slot 60/rate seconds after the previous one, and the workers send it then. The
 * feeder stores only the slots that fall within a short horizon, so a pause takes effect within
 * that horizon and nothing is written far ahead. A slot is never in the past: after a stall (a
 * full rate window, a restart) the campaign goes on at its rate rather than catching up in a burst.
 */
export class Pacer {
  private next: number;
  private readonly interval: number;

  constructor(perMinute: number, now: number) {
    this.interval = 60_000 / perMinute;
    this.next = now;
  }

  /** How many slots start before `now + horizonMs` (at most `max`). */
  available(now: number, horizonMs: number, max: number): number {
    const first = Math.max(this.next, now);
    const end = now + horizonMs;
    if (first >= end) return 0;
    return Math.min(max, Math.ceil((end - first) / this.interval));
  }

  /** The due time of the next message, and the slot after it becomes the next. */
  take(now: number): number {
    const slot = Math.max(this.next, now);
    this.next = slot + this.interval;
    return slot;
  }

  /** How long until half the horizon is free again: what a feeder waits between pages. */
  waitMs(now: number, horizonMs: number): number {
    return Math.max(0, this.next - now - horizonMs / 2);
  }
}
