import multipart from '@fastify/multipart';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { hipaaExcluded } from '../../hipaa/features.js';
import { infobipErrors, sendResponse } from '../../infobip/envelope.js';
import { FORM_LIMITS, readForm } from '../../infobip/form.js';
import { messageLogs } from '../../infobip/logs.js';
import { takeReports } from '../../infobip/reports.js';
import { FIELD_RULES, toSendRequests } from '../../infobip/sendRequest.js';
import { GENERAL_STATUSES, parseInfobipTime } from '../../infobip/statuses.js';
import type { SendPipeline } from '../../sending/pipeline.js';
import { validationError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { documentedOnly } from '../validation.js';

const Id = (description: string) => Type.Optional(Type.String({ maxLength: 256, description }));
const Limit = (maximum: number) => Type.Optional(Type.Integer({ minimum: 1, maximum, default: 50 }));
const ReportsQuery = Type.Object({
  bulkId: Id('reports of this bulk only'),
  messageId: Id('the report of this message only'),
  limit: Limit(1000),
});
const LogsQuery = Type.Object({
  messageId: Id('this message'),
  from: Type.Optional(Type.String({ maxLength: 320 })),
  to: Type.Optional(Type.String({ maxLength: 320 })),
  bulkId: Id('messages of this bulk'),
  generalStatus: Type.Optional(Type.Union(GENERAL_STATUSES.map((status) => Type.Literal(status)))),
  sentSince: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601, e.g. 2026-12-07T09:00:00.000+0000' })),
  sentUntil: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Limit(1000),
});
const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);
const Status = Type.Object({ groupId: Type.Integer(), groupName: Type.String(), id: Type.Integer(), name: Type.String(), description: Type.String() });
const Price = Type.Object({ pricePerMessage: Type.Number(), currency: Type.String() });
const Report = Type.Object({
  bulkId: Nullable(Type.String()), messageId: Type.String(), to: Type.String(), sentAt: Nullable(Type.String()), doneAt: Nullable(Type.String()),
  messageCount: Type.Integer(), price: Price, status: Status,
  error: Type.Object({ groupId: Type.Integer(), groupName: Type.String(), id: Type.Integer(), name: Type.String(), description: Type.String(), permanent: Type.Boolean() }),
  channel: Type.Literal('EMAIL'),
});
const Log = Type.Object({
  messageId: Type.String(), to: Type.String(), from: Type.String(), text: Type.String(), sentAt: Nullable(Type.String()), doneAt: Nullable(Type.String()),
  messageCount: Type.Integer(), price: Price, status: Status, bulkId: Nullable(Type.String()), channel: Type.Literal('EMAIL'),
});
const ServiceError = Type.Object({ requestError: Type.Object({ serviceException: Type.Object({ messageId: Type.String(), text: Type.String() }, { additionalProperties: true }) }) });
const errors = { 400: ServiceError, 401: ServiceError, 403: ServiceError, 413: ServiceError, 415: ServiceError, 429: ServiceError };

/** The form, for the OpenAPI document only (readForm and the pipeline check it): each field the door maps, with what it becomes. */
const SendForm = Type.Object(
  Object.fromEntries(Object.entries(FIELD_RULES).flatMap(([name, rule]) => {
    if (rule.kind === 'refused') return [];
    if (rule.kind === 'file') return [[name, Type.Optional(Type.Array(Type.String({ format: 'binary' }), { description: `files, repeated: ${rule.mailroom}` }))]];
    const field = Type.String({ description: `Mailroom's ${rule.mailroom}` });
    const required = name === 'from' || name === 'to';
    const shape = rule.repeat ? Type.Array(field, { description: `repeated (to, to[0], to['0']): ${rule.mailroom}` }) : field;
    return [[name, required ? shape : Type.Optional(shape)]];
  })),
);

function timeFilter(field: string, value: string | undefined): Date | null {
  if (value === undefined) return null;
  const date = parseInfobipTime(value);
  if (!date) throw validationError([{ field, message: 'must be an ISO 8601 date-time, e.g. 2026-12-07T09:00:00.000+0000' }], `${field} must be an ISO 8601 date-time.`);
  return date;
}

/**
 * The Infobip-compatible door (docs/INFOBIP.md): Infobip's email send, reports and logs, so that an
 * Infobip client switches by its base URL. Its own plugin scope: multipart is parsed only here,
 * and every error leaves in Infobip's envelope.
 */
export async function infobipRoutes(app: FastifyInstance, deps: { db: Database; pipeline: SendPipeline }): Promise<void> {
  await app.register(multipart, { limits: FORM_LIMITS, throwFileSizeLimit: true });
  app.addHook('onRequest', hipaaExcluded('The Infobip-compatible API', 'use POST /emails on the HIPAA listener'));
  app.addHook('preSerialization', infobipErrors);

  app.post(
    '/email/3/send',
    {
      schema: {
        summary: "Send email as Infobip's Email API v3 does: multipart/form-data (from, to, subject, text, html, attachment, ...); one message per recipient",
        tags: ['infobip'],
        consumes: ['multipart/form-data'],
        body: SendForm,
        response: { 200: Type.Object({ bulkId: Type.String(), messages: Type.Array(Type.Object({ to: Type.String(), messageId: Type.String(), status: Type.Object({}, { additionalProperties: true }) })) }), ...errors },
      },
      ...documentedOnly('body'),
    },
    async (request) => {
      const principal = principalOf(request);
      const mapped = toSendRequests(await readForm(request), principal.accountId);
      const context = { principal, meta: metaOf(request), unsubscribeMsg: null, idempotencyKey: null, audit: null };
      return sendResponse(mapped, await deps.pipeline.sendBulk(context, mapped.requests));
    },
  );

  app.get<{ Querystring: Static<typeof ReportsQuery> }>(
    '/email/1/reports',
    { schema: { summary: "Delivery reports in Infobip's shape; each report is returned once", tags: ['infobip'], querystring: ReportsQuery, response: { 200: Type.Object({ results: Type.Array(Report) }), ...errors } } },
    async (request) => {
      const { bulkId, messageId, limit } = request.query;
      return { results: await takeReports(deps.db, principalOf(request).accountId, { bulkId: bulkId ?? null, messageId: messageId ?? null, limit: limit ?? 50 }) };
    },
  );

  app.get<{ Querystring: Static<typeof LogsQuery> }>(
    '/email/1/logs',
    { schema: { summary: "Message logs in Infobip's shape, newest first", tags: ['infobip'], querystring: LogsQuery, response: { 200: Type.Object({ results: Type.Array(Log) }), ...errors } } },
    async (request) => {
      const query = request.query;
      return {
        results: await messageLogs(deps.db, principalOf(request).accountId, {
          messageId: query.messageId ?? null,
          from: query.from?.trim() ?? null,
          to: query.to?.trim().toLowerCase() ?? null,
          bulkId: query.bulkId ?? null,
          generalStatus: query.generalStatus ?? null,
          sentSince: timeFilter('sentSince', query.sentSince),
          sentUntil: timeFilter('sentUntil', query.sentUntil),
          limit: query.limit ?? 50,
        }),
      };
    },
  );
}

