/**
 * Statuses and the rule that derives a message's status from its events (SPEC section 4).
 * `messages.status` is only ever written through `nextStatus`, so it always equals the fold of
 * the message's events; test/events/status.test.ts checks that against the stored rows.
 */
export const STATUSES = ['SCHEDULED', 'QUEUED', 'DEFERRED', 'SENT', 'DELIVERED', 'BOUNCED', 'REJECTED', 'FAILED', 'COMPLAINED'] as const;
export type Status = (typeof STATUSES)[number];

export const ENGAGEMENTS = ['OPENED', 'CLICKED', 'UNSUBSCRIBED'] as const;
export type Engagement = (typeof ENGAGEMENTS)[number];

export type EventType = Status | Engagement;

const FINAL: ReadonlySet<Status> = new Set(['DELIVERED', 'BOUNCED', 'REJECTED', 'FAILED', 'COMPLAINED']);

/** Moves allowed out of a final status: later news about a message that was handed over. */
const LATE_NEWS: Readonly<Partial<Record<Status, readonly Status[]>>> = {
  SENT: ['DELIVERED', 'BOUNCED', 'COMPLAINED'],
  DELIVERED: ['BOUNCED', 'COMPLAINED'],
  BOUNCED: ['COMPLAINED'],
};

export function isStatus(type: string): type is Status {
  return (STATUSES as readonly string[]).includes(type);
}

export function isFinal(status: Status): boolean {
  return FINAL.has(status);
}

/** The status after an event; engagement never moves the status, and a final status moves only on late news. */
export function nextStatus(current: Status | null, event: EventType): Status | null {
  if (!isStatus(event)) return current;
  if (current === null) return event;
  if (current === 'SENT' || FINAL.has(current)) {
    return LATE_NEWS[current]?.includes(event) ? event : current;
  }
  return event;
}

export function foldStatus(events: readonly EventType[]): Status | null {
  return events.reduce<Status | null>((status, event) => nextStatus(status, event), null);
}
