/** Retry schedule after a temporary failure: 1m, 5m, 15m, 30m, 1h, 2h, 4h, then every 4h. */
const SCHEDULE_MINUTES = [1, 5, 15, 30, 60, 120, 240];

export function retryDelayMs(attempt: number): number {
  const index = Math.max(0, Math.min(attempt - 1, SCHEDULE_MINUTES.length - 1));
  return SCHEDULE_MINUTES[index]! * 60_000;
}
