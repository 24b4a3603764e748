import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SealedValueError } from '../crypto/sealed.js';
import { ApiError, type ErrorDetail } from '../shared/errors.js';

export function metaOf(request: FastifyRequest) {
  return { timestamp: Date.now(), transactionId: String(request.id) };
}

/** The meta of a page of a list: every list route pages alike (schemas.ts PageMeta). */
export function pageMetaOf(request: FastifyRequest, limit: number, nextCursor: string | number | null) {
  return { ...metaOf(request), pagination: { limit, nextCursor: nextCursor === null ? null : String(nextCursor) } };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.status(error.status).send({
    meta: metaOf(request),
    error: { code: error.code, message: error.message, details: error.details },
  });
}

/** Database connection trouble is the server's, and temporary: 503, so that clients retry. */
function isDatabaseUnavailable(error: { code?: string }): boolean {
  const code = error.code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '53300'].includes(code) || code.startsWith('08');
}

/**
 * A value the database cannot take (SQLSTATE class 22, "data exception": text it cannot encode, a
 * number out of its column's range; 54000: a value too large for an index). The schemas refuse
 * these before SQL (validation.ts); should one slip through, it is still the request's fault and
 * nothing was stored, because the statement failed.
 */
function isUnstorableValue(error: { code?: string }): boolean {
  const code = error.code ?? '';
  return /^22[0-9A-Z]{3}$/.test(code) || code === '54000';
}

const FRAMEWORK_ERRORS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than this endpoint accepts.'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST', 'The Content-Length header does not match the body.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'INVALID_JSON', 'The body is empty; a JSON object was expected.'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'INVALID_JSON', 'The body is not valid JSON.'],
};

/**
 * A body that may take one of several shapes (anyOf) fails every shape: Ajv lists each shape's
 * complaints, "required" ones for the shapes the caller did not mean among them. When some of the
 * complaints are about a value given (a NUL in "address"), those are the answer.
 */
function relevantIssues(issues: NonNullable<FastifyError['validation']>): NonNullable<FastifyError['validation']> {
  if (!issues.some((issue) => issue.keyword === 'anyOf')) return issues;
  const specific = issues.filter((issue) => issue.keyword !== 'anyOf' && issue.keyword !== 'required');
  // A value of one branch's type (an object where a string or an object is taken) also fails the
  // other branch's type check at its own path: the complaint inside the value is the answer.
  const within = (issue: Issue) => specific.some((other) => other.instancePath.startsWith(`${issue.instancePath}/`));
  const answer = specific.filter((issue) => !(issue.keyword === 'type' && within(issue)));
  return answer.length > 0 ? answer : issues;
}

type Issue = NonNullable<FastifyError['validation']>[number];

/** "/addresses/1/address" is "addresses[1].address", as the send pipeline names fields. */
function fieldOf(issue: Issue, context: string): string {
  const params = issue.params as { missingProperty?: string; additionalProperty?: string };
  const path = issue.instancePath.replace(/^\//, '').split('/').map((part) => (/^\d+$/.test(part) ? `[${part}]` : part)).join('.').replace(/\.\[/g, '[');
  const named = params.missingProperty ?? params.additionalProperty;
  return named ? [path, named].filter(Boolean).join('.') : path || context;
}

function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What a value that is none of its allowed ones is told: the values, once (from an enum, or from consts a union did not merge). */
function allowedValues(issues: Issue[]): unknown[] {
  const values = issues.flatMap((issue) => {
    const params = issue.params as { allowedValue?: unknown; allowedValues?: unknown[] };
    if (issue.keyword === 'const') return [params.allowedValue];
    if (issue.keyword === 'enum') return params.allowedValues ?? [];
    return [];
  });
  return [...new Set(values)];
}

/** A query parameter the route does not take: named with the ones it does (the query validator is verbose, so the schema is at hand). */
function unknownParameterMessage(issue: Issue): string {
  const schema = 'parentSchema' in issue ? (issue.parentSchema as { properties?: Record<string, unknown> } | undefined) : undefined;
  const properties = schema?.properties ?? {};
  const known = Object.keys(properties);
  return known.length > 0 ? `is not a parameter of this route (it takes: ${known.join(', ')})` : 'is not a parameter of this route (it takes none)';
}

/**
 * One detail per field: a value that fails a union fails each of its branches, and Ajv lists
 * each; the caller needs one sentence, e.g. "must be one of: QUEUED, SENT" rather than a
 * "must be equal to constant" per allowed value.
 */
function validationDetails(error: FastifyError): ErrorDetail[] {
  const byField = new Map<string, Issue[]>();
  for (const issue of relevantIssues(error.validation ?? [])) {
    const field = fieldOf(issue, error.validationContext ?? '');
    byField.set(field, [...(byField.get(field) ?? []), issue]);
  }
  return [...byField].map(([field, issues]) => {
    const allowed = allowedValues(issues);
    if (allowed.length > 0) return { field, message: `must be one of: ${allowed.map(shown).join(', ')}` };
    if (issues[0]!.keyword === 'additionalProperties' && error.validationContext === 'querystring') return { field, message: unknownParameterMessage(issues[0]!) };
    const messages = [...new Set(issues.map((issue) => issue.message ?? 'is not valid'))];
    return { field, message: messages.join(' or ') };
  });
}

/** Every error leaves as SPEC section 11 JSON; nothing internal (stack, SQL, other accounts) leaks. */
export function errorHandler(error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ApiError) return sendError(request, reply, error);
  if (error.validation) {
    return sendError(request, reply, new ApiError(400, 'VALIDATION_ERROR', 'The request is not valid.', validationDetails(error)));
  }
  const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
  // The rest of a body too large is not worth reading: the connection closes after the answer.
  if (known) return sendError(request, reply, new ApiError(known[0], known[1], known[2], [], known[0] === 413 ? { connection: 'close' } : {}));
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return sendError(request, reply, new ApiError(400, 'INVALID_JSON', 'The body is not valid JSON.'));
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return sendError(request, reply, new ApiError(error.statusCode, 'BAD_REQUEST', 'The request could not be read.'));
  }
  if (isDatabaseUnavailable(error)) {
    request.log.error({ err: error }, 'database unavailable');
    return sendError(request, reply, new ApiError(503, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; nothing was stored. Retry shortly.', [], { 'retry-after': '5' }));
  }
  if (isUnstorableValue(error)) {
    // Logged without the error's text: PostgreSQL quotes the offending value, which may be content.
    request.log.warn({ sqlState: error.code, route: request.routeOptions.url }, 'a request value the schema let through was refused by the database');
    return sendError(request, reply, new ApiError(400, 'VALIDATION_ERROR', 'A value in the request cannot be stored (a NUL character, an unpaired surrogate or a number out of range); nothing was stored.'));
  }
  if (error instanceof SealedValueError) {
    // The installation lacks the key that sealed a stored secret (MAILROOM_ENCRYPTION_KEYS_PREVIOUS):
    // the operator's to fix, and nothing the client did. The log names the key id.
    request.log.error({ err: error }, 'a stored secret cannot be opened with this key ring');
    return sendError(request, reply, new ApiError(503, 'SECRET_UNAVAILABLE', 'A stored secret of this account cannot be opened with the installation\'s encryption keys; the operator has to add the missing key. Nothing was changed.', [], { 'retry-after': '60' }));
  }
  request.log.error({ err: error }, 'internal error');
  return sendError(request, reply, new ApiError(500, 'INTERNAL_ERROR', 'An internal error occurred; nothing was stored. Retry the request.'));
}
