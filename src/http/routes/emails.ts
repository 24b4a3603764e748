import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/database.js';
import { STATUSES } from '../../events/status.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { MESSAGE_ID } from '../../shared/ids.js';
import { bareAddressProblem } from '../../sending/addresses.js';
import { checkKey, type StoredResponse } from '../../sending/idempotency.js';
import type { SendAudit, SendContext, SendPipeline } from '../../sending/pipeline.js';
import { getEvents, getMessage, listMessages } from '../../sending/read.js';
import { getContent } from '../../sending/content.js';
import { refuseForHipaa } from '../../hipaa/features.js';
import { MessageData, SendEmailRequest, SendRequest } from '../../sending/schema.js';
import { callbackAttempts, webhookAttemptsOfMessage } from '../../webhooks/webhooks.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { ErrorResponse, ListOf, Meta, NullableString, One, PageOf, SERIALIZED_AS_JSON, Timestamp } from '../schemas.js';
import { Attempt } from './webhooks.js';
import { documentedOnly } from '../validation.js';

const SendQuery = Type.Object({
  unsubscribeMsg: Type.Optional(Type.String({ maxLength: 200, description: 'anchor text of the unsubscribe link added to the body' })),
});
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ListQuery = Type.Object({
  status: Type.Optional(Type.Union(STATUSES.map((status) => Type.Literal(status)))),
  externalId: Type.Optional(Type.String({ maxLength: 256 })),
  clientId: Type.Optional(Type.String({ maxLength: 256 })),
  campaignId: Type.Optional(Type.String({ maxLength: 256 })),
  to: Type.Optional(Type.String({ maxLength: 320 })),
  from: Type.Optional(Type.String({ maxLength: 320 })),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'messages with this tag. With from or tag a page reads at most 10,000 messages: it may hold fewer than limit and still have a nextCursor to search on' })),
  after: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601: created at or after' })),
  before: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601: created before' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
});
const BulkBody = Type.Object(
  {
    defaults: Type.Optional(Type.Partial(SendRequest, { description: 'fields every message has unless it gives its own: e.g. from and templateId, with each message its to and placeholders' })),
    messages: Type.Array(Type.Partial(SendRequest), { minItems: 1, maxItems: 1000, description: 'send requests; with defaults, each needs only what differs' }),
  },
  { additionalProperties: false },
);

/** A stored message as the reads show it: the send's `data` and what was set and when. */
const MessageView = Type.Object({
  ...MessageData.properties,
  campaignId: NullableString(),
  tags: Type.Array(Type.String()),
  cc: Type.Array(Type.String()),
  bcc: Type.Array(Type.String()),
  type: Type.Union([Type.Literal('transactional'), Type.Literal('marketing')]),
  submittedBy: Type.Union([Type.Literal('http'), Type.Literal('smtp')]),
  sendAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const Content = Type.Object({
  html: NullableString(),
  text: NullableString('the plain-text part'),
  headers: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
  attachments: Type.Array(Type.Object({ filename: NullableString(), contentType: NullableString(), size: Type.Integer({ description: 'bytes' }) })),
});
/** An event of an email: the body of its webhook and callback requests (SPEC section 4). */
export const EventView = Type.Object({
  id: Type.Integer(),
  type: Type.String({ description: 'the status it moved the message to, or OPENED, CLICKED, UNSUBSCRIBED...' }),
  messageId: Type.String(),
  externalId: NullableString(),
  clientId: NullableString(),
  alias: NullableString(),
  campaignId: NullableString(),
  tags: Type.Array(Type.String()),
  to: Type.String(),
  from: Type.String(),
  timestamp: Timestamp,
  details: Type.Record(Type.String(), Type.Unknown(), { description: "what happened: e.g. a REJECTED event's reason (SUPPRESSED, CANCELED, spelt as the message's reason), a bounce's replyCode and reason" }),
});

const Warnings = Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() })));
const SendResponse = Type.Object({
  meta: Meta,
  data: Type.Union([MessageData, Type.Array(MessageData, { description: 'with `to` as an array: one message per address, in its order' })]),
  warnings: Warnings,
});
const BulkResponse = Type.Object({
  meta: Meta,
  data: Type.Array(
    Type.Union([
      Type.Object({ data: MessageData, warnings: Warnings }),
      Type.Object({ error: ErrorResponse.properties.error }),
    ]),
    { description: 'one result per message, in the order of messages: the message accepted, or why it was refused' },
  ),
});
const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse };

/** An address filter: held to the rules of an address (a control character is refused, not searched for). */
function addressFilter(field: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  const problem = bareAddressProblem(value);
  if (problem) throw validationError([{ field, message: problem }], `The ${field} filter ${problem}.`);
  return value.trim();
}

function parseDate(field: string, value: string | undefined): Date | null {
  if (value === undefined) return null;
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw validationError([{ field, message: 'must be an ISO 8601 date or date-time' }]);
  }
  return date;
}

function sendContext(request: FastifyRequest, meta: SendContext['meta'], principal: SendContext['principal'], sendAudit: SendAuditOf | null): SendContext {
  const raw = request.headers['idempotency-key'];
  const idempotencyKey = typeof raw === 'string' ? raw : null;
  if (idempotencyKey !== null) checkKey(idempotencyKey);
  const unsubscribeMsg = (request.query as Static<typeof SendQuery>).unsubscribeMsg ?? null;
  if (unsubscribeMsg !== null && /[\r\n\0<>]/.test(unsubscribeMsg)) {
    throw validationError([{ field: 'unsubscribeMsg', message: 'must not contain CR, LF, NUL, "<" or ">"' }]);
  }
  return { principal, meta, unsubscribeMsg, idempotencyKey, audit: sendAudit?.(request) ?? null };
}

/** How a send's audit entry is made (an audited server's HIPAA requests; src/http/auditHook.ts). */
type SendAuditOf = (request: FastifyRequest) => SendAudit | null;

/** A stored response under an earlier transaction id is a replay, and says so. */
function answer(reply: FastifyReply, context: SendContext, result: StoredResponse): FastifyReply {
  const meta = (result.body as { meta?: { transactionId?: string } }).meta;
  if (context.idempotencyKey && meta?.transactionId !== context.meta.transactionId) reply.header('idempotent-replayed', 'true');
  return reply.status(result.statusCode).send(result.body);
}

/** POST /emails, POST /emails/bulk and the reads: thin handlers over the send pipeline and the message store. */
export function emailRoutes(app: FastifyInstance, deps: { db: Database; pipeline: SendPipeline; sendAudit?: SendAuditOf | null }): void {
  const sendAudit = deps.sendAudit ?? null;
  app.post<{ Querystring: Static<typeof SendQuery> }>(
    '/emails',
    {
      schema: { summary: 'Send one email (or one to each of up to 50 addresses)', tags: ['emails'], querystring: SendQuery, body: SendEmailRequest, response: { 200: SendResponse, ...errors } },
      ...documentedOnly('body'),
    },
    async (request, reply) => {
      const context = sendContext(request, metaOf(request), principalOf(request), sendAudit);
      return answer(reply, context, await deps.pipeline.send(context, request.body));
    },
  );

  app.post<{ Querystring: Static<typeof SendQuery>; Body: { messages?: unknown } }>(
    '/emails/bulk',
    {
      bodyLimit: 64 * 1024 * 1024,
      schema: { summary: 'Send up to 1,000 emails (e.g. one template, each recipient with its placeholders); one result per message, in order', tags: ['emails'], querystring: SendQuery, body: BulkBody, response: { 200: BulkResponse, ...errors } },
      ...documentedOnly('body'),
      ...SERIALIZED_AS_JSON,
    },
    async (request, reply) => {
      const context = sendContext(request, metaOf(request), principalOf(request), sendAudit);
      const body = request.body as unknown;
      const { messages, defaults } = (body ?? {}) as { messages?: unknown; defaults?: unknown };
      if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some((key) => key !== 'messages' && key !== 'defaults')) {
        throw validationError([{ field: '', message: 'the body must be {"messages": [...]}, optionally with "defaults": {...}' }]);
      }
      if (defaults !== undefined && (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults))) {
        throw validationError([{ field: 'defaults', message: 'must be an object of send request fields' }]);
      }
      if (!Array.isArray(messages) || messages.length === 0 || messages.length > 1000) {
        throw validationError([{ field: 'messages', message: 'must be an array of 1 to 1000 send requests' }]);
      }
      return answer(reply, context, await deps.pipeline.sendBulk(context, messages, (defaults as Record<string, unknown> | undefined) ?? null));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/emails/:id',
    { schema: { summary: 'One email and its status', tags: ['emails'], params: IdParams, response: { 200: One(Type.Object({ ...MessageView.properties, reason: MessageData.properties.reason, suppressionReason: MessageData.properties.suppressionReason })) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const message = await getMessage(deps.db, principalOf(request).accountId, request.params.id);
      if (!message) throw new ApiError(404, 'NOT_FOUND', 'No email with this id.');
      return { meta: metaOf(request), data: message };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/emails/:id/content',
    { schema: { summary: "An email's content: its HTML and plain-text parts, its headers, and its attachments' names, types and sizes (the console's preview)", tags: ['emails'], params: IdParams, response: { 200: One(Content) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const principal = principalOf(request);
      refuseForHipaa(principal, "Reading a message's content", 'a HIPAA message is stored only encrypted and is never shown');
      const content = await getContent(deps.db, principal.accountId, request.params.id);
      if (!content) throw new ApiError(404, 'NOT_FOUND', 'No email with this id.');
      return { meta: metaOf(request), data: content };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/emails/:id/events',
    { schema: { summary: "An email's events, oldest first", tags: ['emails'], params: IdParams, response: { 200: ListOf(EventView) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const events = await getEvents(deps.db, principalOf(request).accountId, request.params.id);
      if (!events) throw new ApiError(404, 'NOT_FOUND', 'No email with this id.');
      return { meta: metaOf(request), data: events };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/emails/:id/callbacks',
    { schema: { summary: "Every attempt to POST an email's events to its callback URLs, oldest first", tags: ['emails'], params: IdParams, response: { 200: ListOf(Attempt) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const accountId = principalOf(request).accountId;
      if (!(await getMessage(deps.db, accountId, request.params.id))) throw new ApiError(404, 'NOT_FOUND', 'No email with this id.');
      return { meta: metaOf(request), data: await callbackAttempts(deps.db, accountId, request.params.id) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/emails/:id/webhook-attempts',
    { schema: { summary: "Every attempt to send an email's events to the account's webhooks, oldest first (at most 500)", tags: ['emails'], params: IdParams, response: { 200: ListOf(Attempt) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const accountId = principalOf(request).accountId;
      if (!(await getMessage(deps.db, accountId, request.params.id))) throw new ApiError(404, 'NOT_FOUND', 'No email with this id.');
      return { meta: metaOf(request), data: await webhookAttemptsOfMessage(deps.db, accountId, request.params.id) };
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/emails',
    { schema: { summary: 'Emails, newest first, filtered, cursor-paginated', tags: ['emails'], querystring: ListQuery, response: { 200: PageOf(MessageView) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const query = request.query;
      const limit = query.limit ?? 20;
      const principal = principalOf(request);
      // A HIPAA account's messages keep keyed hashes of these fields: the filters are hashed alike.
      const key = principal.accountHipaa ? await deps.pipeline.lookupKey(principal) : (value: string) => value;
      const to = addressFilter('to', query.to);
      // Any string would do in "id < cursor", and answer a page of something: a cursor that is no
      // message id was not one this API returned.
      if (query.cursor !== undefined && !MESSAGE_ID.test(query.cursor)) throw validationError([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
      const page = await listMessages(deps.db, principal.accountId, {
        status: query.status ?? null,
        externalId: query.externalId === undefined ? null : key(query.externalId),
        clientId: query.clientId === undefined ? null : key(query.clientId),
        campaignId: query.campaignId ?? null,
        to: to === null ? null : key(to.toLowerCase()),
        from: addressFilter('from', query.from),
        tag: query.tag ?? null,
        after: parseDate('after', query.after),
        before: parseDate('before', query.before),
        cursor: query.cursor ?? null,
        limit,
      });
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.items };
    },
  );
}
