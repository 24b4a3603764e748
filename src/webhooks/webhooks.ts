import type { Sealer } from '../crypto/sealed.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { ENGAGEMENTS, STATUSES } from '../events/status.js';
import { webhookSecretContext } from '../secrets/contexts.js';
import { newSigningSecret } from './signing.js';

const sql = sqlFile(new URL('./webhooks.sql', import.meta.url), [
  'insertWebhook', 'listWebhooks', 'webhookById', 'updateWebhook', 'deleteWebhook', 'rotateSecret', 'attemptsOfWebhook', 'redeliver', 'testEvent', 'callbackAttemptsOfMessage', 'webhookAttemptsOfMessage',
] as const);

/** Events about the account rather than one message, in the same log. */
export const ACCOUNT_EVENTS = ['WEBHOOK_DISABLED', 'REPUTATION_WARNING', 'ACCOUNT_SUSPENDED', 'ACCOUNT_REINSTATED', 'DOMAIN_VERIFIED', 'DOMAIN_VERIFICATION_FAILED'] as const;
/** What a webhook can subscribe to (an empty list: all of them). */
export const SUBSCRIBABLE_EVENTS = [...STATUSES, ...ENGAGEMENTS, ...ACCOUNT_EVENTS] as const;

/** How long the old secret keeps signing after a rotation, so receivers can switch without losing events. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

interface WebhookRow {
  id: number;
  account_id: number;
  url: string;
  description: string;
  event_types: string[];
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  enabled: boolean;
  ordered: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface WebhookView {
  id: number;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  /** False: events may reach the endpoint out of order, several requests in flight at a time. */
  ordered: boolean;
  disabledReason: string | null;
  /** Until when the previous secret still signs, after a rotation. */
  previousSecretUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

function view(row: WebhookRow, now: Date): WebhookView {
  const until = row.previous_secret_until && new Date(row.previous_secret_until) > now ? new Date(row.previous_secret_until).toISOString() : null;
  return {
    id: Number(row.id),
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    enabled: row.enabled,
    ordered: row.ordered,
    disabledReason: row.disabled_reason,
    previousSecretUntil: until,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** A new webhook; its secret is stored sealed and shown in clear only in this answer. */
export async function createWebhook(
  db: Queryable, secrets: Sealer, accountId: number, input: { url: string; description: string; eventTypes: string[]; ordered: boolean }, now: Date,
): Promise<WebhookView & { secret: string }> {
  const secret = newSigningSecret();
  const sealed = secrets.seal(secret, webhookSecretContext(accountId));
  const [row] = await db.query<WebhookRow & Record<string, unknown>>(sql.insertWebhook, [accountId, input.url, input.description, JSON.stringify(input.eventTypes), sealed, now, input.ordered]);
  return { ...view(row!, now), secret };
}

export async function listWebhooks(db: Queryable, accountId: number, now: Date): Promise<WebhookView[]> {
  const rows = await db.query<WebhookRow & Record<string, unknown>>(sql.listWebhooks, [accountId]);
  return rows.map((row) => view(row, now));
}

export async function getWebhook(db: Queryable, accountId: number, id: number, now: Date): Promise<WebhookView | null> {
  const [row] = await db.query<WebhookRow & Record<string, unknown>>(sql.webhookById, [accountId, id]);
  return row ? view(row, now) : null;
}

export async function updateWebhook(
  db: Queryable, accountId: number, id: number,
  changes: { url?: string; description?: string; eventTypes?: string[]; enabled?: boolean; ordered?: boolean }, now: Date,
): Promise<WebhookView | null> {
  const [row] = await db.query<WebhookRow & Record<string, unknown>>(sql.updateWebhook, [
    accountId, id, changes.url ?? null, changes.description ?? null,
    changes.eventTypes ? JSON.stringify(changes.eventTypes) : null, changes.enabled ?? null, now, changes.ordered ?? null,
  ]);
  return row ? view(row, now) : null;
}

export async function deleteWebhook(db: Queryable, accountId: number, id: number, now: Date): Promise<boolean> {
  return (await db.query(sql.deleteWebhook, [accountId, id, now])).length > 0;
}

/**
 * A new secret (shown once); the old one keeps signing beside it for ROTATION_OVERLAP_MS. The
 * old one moves to previous_secret still sealed: both columns share one context.
 */
export async function rotateSecret(db: Queryable, secrets: Sealer, accountId: number, id: number, now: Date): Promise<(WebhookView & { secret: string }) | null> {
  const secret = newSigningSecret();
  const sealed = secrets.seal(secret, webhookSecretContext(accountId));
  const [row] = await db.query<WebhookRow & Record<string, unknown>>(sql.rotateSecret, [accountId, id, sealed, new Date(now.getTime() + ROTATION_OVERLAP_MS), now]);
  return row ? { ...view(row, now), secret } : null;
}

export interface AttemptView {
  id: number;
  deliveryId: number;
  /** The account's webhook the attempt was for; null for a message's callback URL. */
  webhookId: number | null;
  eventId: number;
  eventType: string;
  messageId: string | null;
  url: string;
  attemptedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  response: string | null;
  /** Where the delivery stands now: pending (to be retried), delivered or failed. */
  deliveryStatus: string;
}

function attemptView(row: Record<string, unknown>): AttemptView {
  return {
    id: Number(row.id),
    deliveryId: Number(row.delivery_id),
    webhookId: row.webhook_id === null || row.webhook_id === undefined ? null : Number(row.webhook_id),
    eventId: Number(row.event_id),
    eventType: String(row.event_type),
    messageId: (row.message_id as string | null) ?? null,
    url: String(row.url),
    attemptedAt: new Date(row.attempted_at as Date).toISOString(),
    durationMs: Number(row.duration_ms),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    error: (row.error as string | null) ?? null,
    response: (row.response as string | null) ?? null,
    deliveryStatus: String(row.delivery_status),
  };
}

export async function listAttempts(db: Queryable, accountId: number, webhookId: number, cursor: number | null, limit: number): Promise<{ items: AttemptView[]; nextCursor: string | null }> {
  const rows = await db.query<Record<string, unknown>>(sql.attemptsOfWebhook, [accountId, webhookId, cursor, limit]);
  const items = rows.map(attemptView);
  return { items, nextCursor: items.length === limit ? String(items.at(-1)!.id) : null };
}

/** Every attempt to send a message's events to its callback URLs, oldest first. */
export async function callbackAttempts(db: Queryable, accountId: number, messageId: string): Promise<AttemptView[]> {
  return (await db.query<Record<string, unknown>>(sql.callbackAttemptsOfMessage, [accountId, messageId])).map(attemptView);
}

/** The attempts to send a message's events to the account's webhooks, oldest first (the first 500: a message has a handful of events). */
export async function webhookAttemptsOfMessage(db: Queryable, accountId: number, messageId: string): Promise<AttemptView[]> {
  return (await db.query<Record<string, unknown>>(sql.webhookAttemptsOfMessage, [accountId, messageId])).map(attemptView);
}

/** Sends a delivery's event to the webhook again (a new delivery at the end of its lane); null if there is no such delivery. */
export async function redeliver(db: Queryable, accountId: number, webhookId: number, deliveryId: number, now: Date): Promise<number | null> {
  const [row] = await db.query<{ id: number }>(sql.redeliver, [accountId, webhookId, deliveryId, now]);
  return row ? Number(row.id) : null;
}

/** Queues a WEBHOOK_TEST event for this webhook alone; null if there is no such webhook. */
export async function sendTestEvent(db: Queryable, accountId: number, webhookId: number, now: Date): Promise<{ deliveryId: number; eventId: number } | null> {
  const [row] = await db.query<{ delivery_id: number; event_id: number }>(sql.testEvent, [accountId, webhookId, now]);
  return row ? { deliveryId: Number(row.delivery_id), eventId: Number(row.event_id) } : null;
}
