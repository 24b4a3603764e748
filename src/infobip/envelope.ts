import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredResponse } from '../sending/idempotency.js';
import type { BulkResult } from '../sending/pipeline.js';
import { ApiError } from '../shared/errors.js';
import type { MappedSend } from './sendRequest.js';
import { infobipStatus, type InfobipStatus } from './statuses.js';

/**
 * Infobip's envelopes. Errors: `{ requestError: { serviceException: { messageId, text } } }`,
 * its messageId one of Infobip's (BAD_REQUEST, UNAUTHORIZED, ...). Mailroom's error handler
 * answers every error of these routes (auth, validation, limits, the pipeline's refusals); a
 * preSerialization hook rewrites its body into Infobip's, so that no error path is missed.
 */
const SERVICE_EXCEPTIONS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
};

/** Infobip answers a request it cannot take 400, whatever Mailroom's finer status (409, 422). */
function infobipHttpStatus(status: number): number {
  return status === 409 || status === 422 ? 400 : status;
}

interface MailroomError {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

function isMailroomError(body: unknown): body is MailroomError {
  return typeof body === 'object' && body !== null && typeof (body as MailroomError).error?.message === 'string';
}

export function errorEnvelope(status: number, text: string, details: { field: string; message: string }[] = []) {
  const validationErrors: Record<string, string[]> = {};
  for (const detail of details) (validationErrors[detail.field || 'request'] ??= []).push(detail.message);
  return {
    requestError: {
      serviceException: {
        messageId: SERVICE_EXCEPTIONS[status] ?? (status >= 500 ? 'GENERAL_ERROR' : 'BAD_REQUEST'),
        text,
        ...(details.length > 0 ? { validationErrors } : {}),
      },
    },
  };
}

/** preSerialization: a Mailroom error body leaves in Infobip's envelope (and 422/409 as 400). */
export async function infobipErrors(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (reply.statusCode < 400 || !isMailroomError(payload)) return payload;
  const status = infobipHttpStatus(reply.statusCode);
  reply.code(status);
  // Mailroom's own 415 asks for JSON; this door's form is multipart.
  const text = status === 415 ? "POST /email/3/send takes multipart/form-data, as Infobip's API does." : payload.error.message;
  return errorEnvelope(status, text, payload.error.details ?? []);
}

/** Mailroom's field names in a refusal, as the Infobip caller named them. */
const INFOBIP_FIELDS: readonly [RegExp, string][] = [
  [/^clientId$/, 'callbackData'],
  [/^campaignId$/, 'bulkId'],
  [/^externalId$/, 'messageId'],
  [/^callbacks\[0\]$/, 'notifyUrl'],
  [/^attachments(\[\d+\])/, 'attachment$1'],
];

function infobipField(field: string): string {
  for (const [pattern, name] of INFOBIP_FIELDS) if (pattern.test(field)) return field.replace(pattern, name);
  return field;
}

const renamed = (details: { field: string; message: string }[]) => details.map((detail) => ({ ...detail, field: infobipField(detail.field) }));

/** A bulk result carries its code, not its status: the codes whose status is not 400. */
const REFUSAL_STATUS: Readonly<Record<string, number>> = { RATE_LIMITED: 429, ACCOUNT_SUSPENDED: 403 };

export interface SentMessage {
  to: string;
  messageId: string;
  status: InfobipStatus;
}

/**
 * The pipeline's bulk answer as Infobip's send response. A recipient the pipeline refused on
 * its own (a malformed or suppressed address) is listed REJECTED with the reason; when every
 * recipient was refused, the request fails with the first refusal, as Infobip fails it.
 */
export function sendResponse(mapped: MappedSend, stored: StoredResponse): { bulkId: string; messages: SentMessage[] } {
  // POST /emails/bulk's answer: data, one result per message ({data} or {error}); an error envelope when the whole request was refused.
  const results = (stored.body as { data?: BulkResult[] }).data;
  if (!Array.isArray(results)) {
    const error = (stored.body as Partial<MailroomError>).error;
    throw new ApiError(stored.statusCode, error?.code ?? 'BAD_REQUEST', error?.message ?? 'The request was refused.', error?.details ?? []);
  }
  const refusals = results.flatMap((result) => ('error' in result ? [result.error] : []));
  if (refusals.length === results.length) {
    const first = refusals[0]!;
    throw new ApiError(REFUSAL_STATUS[first.code] ?? 400, first.code, first.message, renamed(first.details));
  }
  return {
    bulkId: mapped.bulkId,
    messages: results.map((result, index) => {
      const to = mapped.recipients[index]!;
      if ('error' in result) {
        return { to, messageId: mapped.messageIds[index] ?? '', status: { ...infobipStatus('REJECTED'), description: result.error.message } };
      }
      return { to, messageId: mapped.messageIds[index] ?? result.data.id, status: infobipStatus(result.data.status) };
    }),
  };
}
