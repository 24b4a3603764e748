/**
 * Per-address limits of the SMTP door, kept in this process's memory (each SMTP process guards
 * its own listeners): simultaneous connections, and failed logins with a lock-out.
 */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();
  private readonly counted = new Map<string, string>();

  constructor(private readonly maxPerAddress: number) {}

  /** Counts a new connection; false (and not counted) if its address is at the limit. */
  admit(sessionId: string, address: string): boolean {
    const current = this.open.get(address) ?? 0;
    if (current >= this.maxPerAddress) return false;
    this.open.set(address, current + 1);
    this.counted.set(sessionId, address);
    return true;
  }

  release(sessionId: string): void {
    const address = this.counted.get(sessionId);
    if (address === undefined) return;
    this.counted.delete(sessionId);
    const left = (this.open.get(address) ?? 1) - 1;
    if (left <= 0) this.open.delete(address);
    else this.open.set(address, left);
  }
}

/**
 * Failed logins per client address. A success does not clear them: a client that holds one
 * working credential could otherwise go on guessing another account's password, a few tries
 * between two good logins, without ever being locked out.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the address may try again; 0 when it is not locked out. */
  lockedFor(address: string): number {
    const recent = this.recent(address);
    if (recent.length < this.maxFailures) return 0;
    return Math.max(0, recent[recent.length - this.maxFailures]! + this.windowMs - this.now());
  }

  fail(address: string): void {
    const recent = this.recent(address);
    recent.push(this.now());
    // Only the last maxFailures matter for the lock-out.
    this.failures.set(address, recent.slice(-this.maxFailures));
    if (this.failures.size > 100_000) this.prune();
  }

  private recent(address: string): number[] {
    const since = this.now() - this.windowMs;
    return (this.failures.get(address) ?? []).filter((at) => at > since);
  }

  private prune(): void {
    for (const address of [...this.failures.keys()]) if (this.recent(address).length === 0) this.failures.delete(address);
  }
}
