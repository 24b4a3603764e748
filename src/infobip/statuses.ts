/**
 * Mailroom's statuses in Infobip's status vocabulary (groups PENDING 1, UNDELIVERABLE 2,
 * DELIVERED 3, EXPIRED 4, REJECTED 5; the ids and names are Infobip's own, e.g. 26
 * PENDING_ACCEPTED, 5 DELIVERED_TO_HANDSET, which Infobip's email API reports too).
 *
 * One table, read top to bottom, first match wins: a rule may also name the bounce reason of
 * the event (a message that ran out of retries is BOUNCED with reason `expired`, which Infobip
 * calls EXPIRED). `report` marks the events that are delivery reports (GET /email/1/reports):
 * the outcome of a delivery attempt, not the steps before it. reports.sql lists the same types
 * in its partial index and its WHERE clause (test/infobip/statuses.test.ts holds them equal).
 */
export interface InfobipStatus {
  groupId: number;
  groupName: 'PENDING' | 'UNDELIVERABLE' | 'DELIVERED' | 'EXPIRED' | 'REJECTED';
  id: number;
  name: string;
  description: string;
}

interface StatusRule {
  status: string;
  /** The event's `details.reason` (the bounce vocabulary); absent: any. */
  reason?: string;
  report: boolean;
  infobip: InfobipStatus;
}

const ACCEPTED: InfobipStatus = { groupId: 1, groupName: 'PENDING', id: 26, name: 'PENDING_ACCEPTED', description: 'Message accepted, pending for delivery.' };

const STATUS_RULES: readonly StatusRule[] = [
  { status: 'SCHEDULED', report: false, infobip: { ...ACCEPTED, description: 'Message accepted, scheduled for its sendAt time.' } },
  { status: 'QUEUED', report: false, infobip: ACCEPTED },
  { status: 'DEFERRED', report: false, infobip: { groupId: 1, groupName: 'PENDING', id: 3, name: 'PENDING_WAITING_DELIVERY', description: 'The receiving server deferred the message; delivery will be retried.' } },
  // A relay (smarthost) took it: the final delivery is the relay's, and Mailroom learns it only if it bounces.
  { status: 'SENT', report: true, infobip: { groupId: 1, groupName: 'PENDING', id: 7, name: 'PENDING_ENROUTE', description: 'Message sent to next instance (a relay accepted it).' } },
  { status: 'DELIVERED', report: true, infobip: { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET', description: "Message delivered: the recipient's server accepted it." } },
  // A complaint comes after delivery: the message was delivered.
  { status: 'COMPLAINED', report: false, infobip: { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET', description: 'Message delivered; the recipient reported it as spam.' } },
  { status: 'BOUNCED', reason: 'expired', report: true, infobip: { groupId: 4, groupName: 'EXPIRED', id: 15, name: 'EXPIRED_EXPIRED', description: 'Message expired: retries ran out before a server accepted it.' } },
  { status: 'BOUNCED', report: true, infobip: { groupId: 2, groupName: 'UNDELIVERABLE', id: 9, name: 'UNDELIVERABLE_NOT_DELIVERED', description: "Message not delivered: the recipient's server refused it." } },
  { status: 'FAILED', report: true, infobip: { groupId: 2, groupName: 'UNDELIVERABLE', id: 9, name: 'UNDELIVERABLE_NOT_DELIVERED', description: 'Message not delivered: an internal error.' } },
  // Suppressed recipient, suspended account, policy: never sent.
  { status: 'REJECTED', report: true, infobip: { groupId: 5, groupName: 'REJECTED', id: 52, name: 'REJECTED_DESTINATION', description: 'Message rejected: the recipient is suppressed or policy refused it.' } },
];

export const GENERAL_STATUSES = ['PENDING', 'UNDELIVERABLE', 'DELIVERED', 'EXPIRED', 'REJECTED'] as const;
export type GeneralStatus = (typeof GENERAL_STATUSES)[number];

/** The Infobip status of a Mailroom status (and, for an event, its reason). */
export function infobipStatus(status: string, reason?: unknown): InfobipStatus {
  const rule = STATUS_RULES.find((entry) => entry.status === status && (entry.reason === undefined || entry.reason === reason));
  // Every Mailroom status has a rule (the test checks it); an unknown one is still pending.
  return rule?.infobip ?? ACCEPTED;
}

/** The event types that are delivery reports. */
export const REPORT_EVENT_TYPES: readonly string[] = [...new Set(STATUS_RULES.filter((rule) => rule.report).map((rule) => rule.status))];

/** Every Mailroom status with a rule (the test checks none is missing). */
export const MAPPED_STATUSES: readonly string[] = [...new Set(STATUS_RULES.map((rule) => rule.status))];

/**
 * The Mailroom statuses of one Infobip status group, by status alone (GET /email/1/logs reads
 * messages, which keep no bounce reason: a BOUNCED message is UNDELIVERABLE there, and EXPIRED
 * only in the reports, which read the event).
 */
export function statusesOfGroup(group: GeneralStatus): string[] {
  return MAPPED_STATUSES.filter((status) => infobipStatus(status).groupName === group);
}

/** Infobip's error object of a report: NO_ERROR, or the bounce (Mailroom's reason; ids are Mailroom's, see docs/INFOBIP.md). */
export interface InfobipError {
  groupId: number;
  groupName: string;
  id: number;
  name: string;
  description: string;
  permanent: boolean;
}

export const NO_ERROR: InfobipError = { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR', description: 'No Error', permanent: false };

/** A failure's error: the reply and the reason the event recorded. */
export function infobipError(status: string, details: { reason?: unknown; reply?: unknown; bounceClass?: unknown }): InfobipError {
  if (status === 'DELIVERED' || status === 'SENT' || status === 'COMPLAINED' || !['BOUNCED', 'FAILED', 'REJECTED'].includes(status)) return NO_ERROR;
  const reason = typeof details.reason === 'string' ? details.reason : status.toLowerCase();
  const reply = typeof details.reply === 'string' ? details.reply : '';
  return {
    groupId: 1,
    groupName: status === 'REJECTED' ? 'REJECTED' : 'DELIVERY_ERROR',
    id: status === 'REJECTED' ? 3 : details.bounceClass === 'HARD' ? 1 : 2,
    name: reason.toUpperCase(),
    description: reply || `Not delivered: ${reason}`,
    permanent: status === 'REJECTED' || details.bounceClass === 'HARD',
  };
}

/** Infobip's time format: 2026-12-07T09:41:37.000+0000. */
export function infobipTime(date: Date | string | null): string | null {
  if (date === null) return null;
  return new Date(date).toISOString().replace('Z', '+0000');
}

/** Infobip's times carry offsets as +0000; ISO 8601 (and Mailroom) also takes +00:00 and Z. */
export function parseInfobipTime(text: string): Date | null {
  const normalized = text.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  if (!/^\d{4}-\d{2}-\d{2}/.test(normalized)) return null;
  const date = new Date(normalized);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** sendAt as Mailroom's validator takes it: an offset written +hh:mm. */
export function normalizeOffset(text: string): string {
  return text.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}
