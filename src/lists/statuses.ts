import type { SuppressionReason } from '../suppression/suppressions.js';

/**
 * A member's status. A list stores one of LIST_STATUSES per member; what a member is shown as
 * (and whether it may be mailed) also depends on the account's suppression list, which wins:
 * a hard bounce shows `bounced`, a complaint `complained`, an unsubscribe through a message's
 * link `unsubscribed`, an operator's entry (MANUAL, imports) `suppressed`. Such a member keeps
 * its list status underneath (shown as `listStatus`), and comes back as it was if the address is
 * taken off the suppression list.
 */
export const LIST_STATUSES = ['unconfirmed', 'subscribed', 'unsubscribed'] as const;
export type ListStatus = (typeof LIST_STATUSES)[number];

export const SHOWN_STATUSES = [...LIST_STATUSES, 'bounced', 'complained', 'suppressed'] as const;
export type ShownStatus = (typeof SHOWN_STATUSES)[number];

export const STATUS_OF_SUPPRESSION: Record<SuppressionReason, ShownStatus> = {
  HARD_BOUNCE: 'bounced',
  COMPLAINT: 'complained',
  UNSUBSCRIBE: 'unsubscribed',
  MANUAL: 'suppressed',
};

export function isListStatus(value: unknown): value is ListStatus {
  return typeof value === 'string' && (LIST_STATUSES as readonly string[]).includes(value);
}

export function shownStatus(listStatus: ListStatus, suppression: SuppressionReason | null): ShownStatus {
  return suppression ? STATUS_OF_SUPPRESSION[suppression] : listStatus;
}
