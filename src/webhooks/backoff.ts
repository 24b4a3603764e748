/**
 * When a failed webhook delivery is tried again: exponential back-off from 5 s, tripling up to
 * 4 h between attempts, each delay drawn between 75% and 125% of its step (jitter, so that the
 * deliveries that failed together while a receiver was down do not all return at one instant).
 * After RETRY_PERIOD_MS from the event, a failure is final.
 */
export const RETRY_PERIOD_MS = 24 * 3600 * 1000;
const FIRST_MS = 5_000;
const LONGEST_MS = 4 * 3600 * 1000;

export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const step = Math.min(LONGEST_MS, FIRST_MS * 3 ** Math.max(0, failures - 1));
  return Math.round(step * (0.75 + 0.5 * random()));
}

/** The next attempt's time, or null when the retry period is over. */
export function nextAttemptAt(createdAt: Date, failures: number, now: Date, random: () => number = Math.random): Date | null {
  const deadline = createdAt.getTime() + RETRY_PERIOD_MS;
  if (now.getTime() >= deadline) return null;
  return new Date(Math.min(deadline, now.getTime() + retryDelayMs(failures, random)));
}
