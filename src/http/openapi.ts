import type { AddressInfo } from 'node:net';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorResponse } from './schemas.js';

/**
 * The OpenAPI document (`GET /openapi.json`), built by @fastify/swagger from the route schemas.
 * What no route says for itself is added here, once for all: the operationId of each operation,
 * the errors every route of a kind can answer, the servers, and the examples of the main calls.
 */

const DESCRIPTION = [
  'Self-hosted Email API: send, track and report on email.',
  '',
  'Every JSON answer is `{meta, data}` (`meta`: `timestamp`, `transactionId`), or `{meta, error}` with `error.code`, `error.message` and `error.details` ([{field, message}]).',
  'A list answers a page: `meta.pagination` holds `limit` and `nextCursor` (pass it as `cursor` for the next page; null on the last one).',
  'A creation answers `201`; an accepted background job (a list import) `202`; `POST /emails` and `POST /emails/bulk` answer `200` (the message is durably stored).',
  'A path called with a method it does not take answers `405` with an `Allow` header; an unknown path `404`.',
].join('\n');

/** The seed request of SPEC section 3 and its answer: the examples of POST /emails. */
export const SEED_EXAMPLE = {
  to: 'john.doe@example.com',
  from: 'promo@elipackage.com',
  text: 'we have a new offer this week',
  subject: 'EliPackage Promo',
  externalId: '123456789abcde',
  clientId: '48118112',
  callbacks: ['https://example.com/mailroom-callback'],
  alias: 'New User',
};
const SEED_RESPONSE_EXAMPLE = {
  meta: { timestamp: 1763740000000, transactionId: '0b7c7f0e-3f43-4e43-9b8e-3c1a2f4d5e6f' },
  data: {
    id: 'msg_01JD3K6W5XGQ5Y9V8Z7T6R5P4N', ...SEED_EXAMPLE, userName: 'default', operator: 'default', status: 'QUEUED',
  },
};
const EXAMPLES: Record<string, { body?: unknown; response?: Record<string, unknown> }> = {
  postEmails: { body: SEED_EXAMPLE, response: { 200: SEED_RESPONSE_EXAMPLE } },
  postEmailsBulk: {
    body: { defaults: { from: 'promo@elipackage.com', subject: 'EliPackage Promo', text: 'we have a new offer this week' }, messages: [{ to: 'john.doe@example.com' }, { to: 'jane.roe@example.com' }] },
  },
};

/** Operations that count against a rate (the account's sending limits, sign-in and confirmation throttles): they may answer 429. */
const RATE_LIMITED = new Set(['postEmails', 'postEmailsBulk', 'postCampaignsByIdTest', 'postSenders', 'postSendersByIdResend', 'postSession', 'postSubscribeByListToken']);

const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted: the job runs in the background', 204: 'Done (no body)' };

/** What an error status means on any route that declares it (error.code says which case it is). */
const ERRORS: Record<string, string> = {
  408: 'The body did not arrive in time',
  409: 'It conflicts with the current state (error.code says which: CONFLICT, IDEMPOTENCY_KEY_REUSED, INVALID_CAMPAIGN_STATE...)',
  413: 'The body, or the message it makes, is larger than allowed',
  415: 'The body or an attachment is of a type not taken',
  422: 'Understood but refused (error.code says why: TEMPLATE_NOT_FOUND, PLACEHOLDER_MISSING, RECIPIENT_DOMAIN_INVALID...)',
};

const error = (description: string): TSchema => Type.Object(ErrorResponse.properties, { description });

/** The errors an operation can answer by what it is (an authenticated route, one with a path parameter, one with a body). */
function standardErrors(operationId: string, url: string, schema: Record<string, unknown>): Record<string, TSchema> {
  const open = Array.isArray(schema.security) && schema.security.length === 0;
  return {
    400: error('The request is not valid: an unknown or malformed query parameter, path parameter or body field (error.details says which)'),
    ...(open ? {} : {
      401: error('No API key, or one that is not valid (revoked, unknown)'),
      403: error('The key may not do this (INSUFFICIENT_SCOPE), or the account may not (e.g. ACCOUNT_SUSPENDED, HIPAA_ENDPOINT_REQUIRED)'),
    }),
    ...(url.includes(':') ? { 404: error('No such resource in this account') } : {}),
    ...(schema.body ? { 413: error('The body is larger than this route takes'), 415: error('The body is not application/json') } : {}),
    ...(RATE_LIMITED.has(operationId) ? { 429: error('Over a rate limit: retry after the Retry-After header\'s seconds') } : {}),
    503: error('Mailroom is shutting down or its database is unavailable: nothing was done; retry'),
  };
}

/** `POST /campaigns/:id/:action` → `postCampaignsByIdByAction`; `GET /lists/:id/contacts.csv` → `getListsByIdContactsCsv`. */
export function operationIdOf(method: string | string[], url: string): string {
  const verb = (Array.isArray(method) ? method[0]! : method).toLowerCase();
  const words = url.split('/').filter(Boolean).flatMap((segment) =>
    segment.startsWith(':') ? ['by', segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/).filter(Boolean));
  return verb + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

type Transform = NonNullable<FastifyDynamicSwaggerOptions['transform']>;

/**
 * Each operation as the document shows it (the route itself is untouched): its operationId from
 * its method and path, so that a typed client names each call without any route having to say it
 * (and two routes cannot collide); the errors it can answer, where the route declares them not;
 * the examples of the main calls.
 */
const transform: Transform = ({ schema, url, route }) => {
  const operationId = operationIdOf(route.method, url);
  const declared = (schema ?? {}) as Record<string, unknown>;
  if (declared.hide) return { schema, url };
  const standard = standardErrors(operationId, url, declared);
  const response: Record<string, unknown> = { ...standard };
  for (const [status, answer] of Object.entries((declared.response ?? {}) as Record<string, Record<string, unknown>>)) {
    // A route's own schema says what the answer is for when it does not say it itself.
    const description = status.startsWith('2') ? SUCCESS[status] : (standard[status] as { description?: string } | undefined)?.description ?? ERRORS[status] ?? 'An error (error.code says which)';
    const described = answer.description !== undefined || description === undefined ? answer : { ...answer, description };
    response[status] = described;
  }
  const examples = EXAMPLES[operationId];
  if (examples?.response) {
    for (const [status, example] of Object.entries(examples.response)) response[status] = { ...(response[status] as object), examples: [example] };
  }
  const body = examples?.body && declared.body ? { ...(declared.body as object), examples: [examples.body] } : declared.body;
  return { schema: { ...declared, operationId, response, ...(body ? { body } : {}) } as typeof schema, url };
};

export function swaggerOptions(): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      info: { title: 'Mailroom API', version: '0.1.0', description: DESCRIPTION },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <key>` or `App <key>`' } } },
      security: [{ apiKey: [] }],
    },
    transform,
  };
}

/**
 * Where the API is: MAILROOM_PUBLIC_URL on the standard listener, and the address this listener
 * answers on when it is another (the HIPAA listener, or a public URL that names a proxy).
 */
function serversOf(app: FastifyInstance, request: FastifyRequest, publicUrl: string | null): { url: string; description: string }[] {
  const servers: { url: string; description: string }[] = [];
  if (publicUrl) servers.push({ url: publicUrl.replace(/\/+$/, ''), description: 'MAILROOM_PUBLIC_URL' });
  const address = app.server.address() as AddressInfo | string | null;
  const protocol = request.protocol;
  let listening: string | null = null;
  if (address && typeof address === 'object') {
    const unspecified = address.address === '0.0.0.0' || address.address === '::';
    // A listener on every interface has no one address: the one the client reached is named.
    if (unspecified) listening = request.host ? `${protocol}://${request.host}` : null;
    else listening = `${protocol}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }
  if (listening && !servers.some((server) => server.url === listening)) servers.push({ url: listening, description: 'this listener' });
  return servers;
}

/** GET /openapi.json: the document, with the servers of this listener. */
export function openApiRoute(app: FastifyInstance, publicUrl: string | null): void {
  app.get('/openapi.json', { schema: { hide: true } }, async (request) => ({ ...app.swagger(), servers: serversOf(app, request, publicUrl) }));
}
