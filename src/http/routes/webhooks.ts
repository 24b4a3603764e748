import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Sealer } from '../../crypto/sealed.js';
import type { Database } from '../../db/database.js';
import type { Clock } from '../../shared/clock.js';
import { oneLineProblem } from '../../shared/characters.js';
import { ApiError, validationError } from '../../shared/errors.js';
import type { TargetResolver } from '../../webhooks/ssrf.js';
import {
  createWebhook, deleteWebhook, getWebhook, listAttempts, listWebhooks, redeliver, rotateSecret, sendTestEvent, SUBSCRIBABLE_EVENTS, updateWebhook,
} from '../../webhooks/webhooks.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { ErrorResponse, ListOf, NullableInteger, NullableString, One, PageOf, SERIALIZED_AS_JSON, Timestamp } from '../schemas.js';

const EventTypes = Type.Array(Type.Union(SUBSCRIBABLE_EVENTS.map((type) => Type.Literal(type))), {
  maxItems: SUBSCRIBABLE_EVENTS.length,
  uniqueItems: true,
  description: 'the event types sent to it; empty or absent: all of them',
});
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL of the receiver; private and loopback addresses are refused' });
const Description = Type.String({ maxLength: 500 });
const Ordered = Type.Boolean({ description: 'true (default): events arrive in order, one request at a time; false: up to 8 requests in flight, order not kept (for endpoints that need more throughput)' });
const CreateBody = Type.Object({ url: Url, description: Type.Optional(Description), eventTypes: Type.Optional(EventTypes), ordered: Type.Optional(Ordered) }, { additionalProperties: false });
const UpdateBody = Type.Object(
  { url: Type.Optional(Url), description: Type.Optional(Description), eventTypes: Type.Optional(EventTypes), ordered: Type.Optional(Ordered), enabled: Type.Optional(Type.Boolean({ description: 'false pauses it; true resumes it from its oldest pending event' })) },
  { additionalProperties: false, minProperties: 1 },
);
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) });
const DeliveryParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }), deliveryId: Type.String({ pattern: '^[0-9]{1,18}$' }) });
const AttemptsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'nextCursor of the previous page' })),
});

const Webhook = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  description: Type.String(),
  eventTypes: Type.Array(Type.String(), { description: 'empty: every event type' }),
  enabled: Type.Boolean(),
  ordered: Type.Boolean(),
  disabledReason: NullableString('why Mailroom disabled it (its endpoint kept failing); null when enabled or disabled by the account'),
  previousSecretUntil: Type.Union([Timestamp, Type.Null()], { description: 'until when the previous secret also signs, after a rotation' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
const WithSecret = Type.Object({ ...Webhook.properties, secret: Type.String({ description: 'the signing secret (whsec_...): shown only in this answer' }) });
/** A delivery attempt to a webhook or a message's callback URL (also GET /emails/{id}/callbacks and /webhook-attempts). */
export const Attempt = Type.Object({
  id: Type.Integer(),
  deliveryId: Type.Integer(),
  webhookId: NullableInteger("the webhook; null for a message's callback URL"),
  eventId: Type.Integer(),
  eventType: Type.String(),
  messageId: NullableString(),
  url: Type.String(),
  attemptedAt: Timestamp,
  durationMs: Type.Integer(),
  statusCode: NullableInteger('the HTTP status answered; null when none was'),
  error: NullableString(),
  response: NullableString('the start of the answer body'),
  deliveryStatus: Type.String({ description: 'pending (to be retried), delivered or failed' }),
});

export interface WebhookRouteDeps {
  db: Database;
  /** Seals the secrets of new webhooks and rotations. */
  secrets: Sealer;
  clock: Clock;
  targets: TargetResolver;
}

function notFound(id: number): ApiError {
  return new ApiError(404, 'NOT_FOUND', `No webhook ${id} in this account.`);
}

/**
 * Account webhooks (SPEC section 5): every event of the account's messages whose type a webhook
 * subscribes to is POSTed to it, signed per Standard Webhooks with its secret (shown once, at
 * creation and at each rotation). Its delivery attempts are listed, and any delivery can be
 * sent again.
 */
export function webhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  const checkUrl = async (url: string) => {
    const problem = await deps.targets.check(url);
    if (problem) throw validationError([{ field: 'url', message: problem }], `The webhook URL ${problem}.`);
  };
  const checkDescription = (description: string | undefined) => {
    const problem = oneLineProblem(description);
    if (problem) throw validationError([{ field: 'description', message: problem }], `The description ${problem}.`);
  };

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/webhooks',
    { schema: { summary: 'Create a webhook (its signing secret is shown only in this response)', tags: ['webhooks'], body: CreateBody, response: { 201: One(WithSecret) } }, ...SERIALIZED_AS_JSON },
    async (request, reply) => {
      checkDescription(request.body.description);
      await checkUrl(request.body.url);
      const data = await createWebhook(deps.db, deps.secrets, principalOf(request).accountId, {
        url: request.body.url, description: request.body.description ?? '', eventTypes: request.body.eventTypes ?? [], ordered: request.body.ordered ?? true,
      }, deps.clock.now());
      return reply.code(201).send({ meta: metaOf(request), data });
    },
  );

  app.get('/webhooks', { schema: { summary: 'List the webhooks (never their secrets)', tags: ['webhooks'], response: { 200: ListOf(Webhook) } }, ...SERIALIZED_AS_JSON }, async (request) => ({
    meta: metaOf(request),
    data: await listWebhooks(deps.db, principalOf(request).accountId, deps.clock.now()),
  }));

  app.get<{ Params: Static<typeof IdParams> }>('/webhooks/:id', { schema: { summary: 'One webhook', tags: ['webhooks'], params: IdParams, response: { 200: One(Webhook) } }, ...SERIALIZED_AS_JSON }, async (request) => {
    const id = Number(request.params.id);
    const data = await getWebhook(deps.db, principalOf(request).accountId, id, deps.clock.now());
    if (!data) throw notFound(id);
    return { meta: metaOf(request), data };
  });

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateBody> }>(
    '/webhooks/:id',
    { schema: { summary: 'Change a webhook: URL, description, event types, or enabled', tags: ['webhooks'], params: IdParams, body: UpdateBody, response: { 200: One(Webhook) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      checkDescription(request.body.description);
      if (request.body.url !== undefined) await checkUrl(request.body.url);
      const data = await updateWebhook(deps.db, principalOf(request).accountId, id, request.body, deps.clock.now());
      if (!data) throw notFound(id);
      return { meta: metaOf(request), data };
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/webhooks/:id',
    { schema: { summary: 'Delete a webhook (its pending deliveries are dropped)', tags: ['webhooks'], params: IdParams, response: { 200: One(Type.Object({ id: Type.Integer(), deleted: Type.Boolean() })) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      if (!(await deleteWebhook(deps.db, principalOf(request).accountId, id, deps.clock.now()))) throw notFound(id);
      return { meta: metaOf(request), data: { id, deleted: true } };
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/webhooks/:id/rotate-secret',
    { schema: { summary: 'A new signing secret (shown only here); the old one also signs for 24 hours', tags: ['webhooks'], params: IdParams, response: { 200: One(WithSecret) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      const data = await rotateSecret(deps.db, deps.secrets, principalOf(request).accountId, id, deps.clock.now());
      if (!data) throw notFound(id);
      return { meta: metaOf(request), data };
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/webhooks/:id/test',
    { schema: { summary: 'Send a WEBHOOK_TEST event to this webhook; its attempt shows in /attempts', tags: ['webhooks'], params: IdParams, response: { 200: One(Type.Object({ deliveryId: Type.Integer(), eventId: Type.Integer() })), 409: ErrorResponse } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      const accountId = principalOf(request).accountId;
      const webhook = await getWebhook(deps.db, accountId, id, deps.clock.now());
      if (!webhook) throw notFound(id);
      if (!webhook.enabled) throw new ApiError(409, 'WEBHOOK_DISABLED', `Webhook ${id} is disabled (${webhook.disabledReason ?? 'by the account'}); enable it first (PATCH with {"enabled": true}).`);
      const data = await sendTestEvent(deps.db, accountId, id, deps.clock.now());
      if (!data) throw notFound(id);
      return { meta: metaOf(request), data };
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof AttemptsQuery> }>(
    '/webhooks/:id/attempts',
    { schema: { summary: 'Delivery attempts to this webhook, newest first', tags: ['webhooks'], params: IdParams, querystring: AttemptsQuery, response: { 200: PageOf(Attempt) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      const accountId = principalOf(request).accountId;
      if (!(await getWebhook(deps.db, accountId, id, deps.clock.now()))) throw notFound(id);
      const limit = request.query.limit ?? 50;
      const { items, nextCursor } = await listAttempts(deps.db, accountId, id, request.query.cursor ? Number(request.query.cursor) : null, limit);
      return { meta: pageMetaOf(request, limit, nextCursor), data: items };
    },
  );

  app.post<{ Params: Static<typeof DeliveryParams> }>(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    { schema: { summary: 'Send a delivery\'s event to this webhook again', tags: ['webhooks'], params: DeliveryParams, response: { 200: One(Type.Object({ deliveryId: Type.Integer({ description: 'the new delivery' }) })) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const id = Number(request.params.id);
      const deliveryId = Number(request.params.deliveryId);
      const created = await redeliver(deps.db, principalOf(request).accountId, id, deliveryId, deps.clock.now());
      if (created === null) throw new ApiError(404, 'NOT_FOUND', `No delivery ${deliveryId} of webhook ${id} in this account.`);
      return { meta: metaOf(request), data: { deliveryId: created } };
    },
  );
}
