/** One field's complaint, as the API lists them in `error.details`. */
export interface ErrorDetail {
  field: string;
  message: string;
}

/** What kind of failure an error is, for a `switch` rather than a chain of `instanceof`. */
export type MailroomErrorKind =
  | 'validation'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'conflict'
  | 'rate_limit'
  | 'server'
  | 'connection'
  | 'api';

export interface MailroomErrorInit {
  status: number;
  code: string;
  message: string;
  details?: ErrorDetail[];
  transactionId?: string | null;
  headers?: Headers;
  cause?: unknown;
}

/**
 * An API error (Mailroom's envelope `{ meta: { transactionId }, error: { code, message, details } }`)
 * or a request that got no answer (`status` 0, code `CONNECTION_ERROR`).
 */
export class MailroomError extends Error {
  readonly kind: MailroomErrorKind = 'api';
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  /** The request's id in Mailroom's logs: quote it when reporting a problem. */
  readonly transactionId: string | null;
  readonly headers: Headers;

  constructor(init: MailroomErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? [];
    this.transactionId = init.transactionId ?? null;
    this.headers = init.headers ?? new Headers();
  }
}

/** 400 or 422: the request is not valid; `details` names each field. */
export class ValidationError extends MailroomError {
  override readonly kind = 'validation';
}

/** 401: no key, or not a valid one. */
export class AuthenticationError extends MailroomError {
  override readonly kind = 'authentication';
}

/** 403: the key may not do this (its scopes, a suspended account, an unverified sender). */
export class PermissionError extends MailroomError {
  override readonly kind = 'permission';
}

export class NotFoundError extends MailroomError {
  override readonly kind = 'not_found';
}

/** 409: e.g. an Idempotency-Key reused with another request. */
export class ConflictError extends MailroomError {
  override readonly kind = 'conflict';
}

/** 429, after the client's retries (or at once when Retry-After was longer than it waits). */
export class RateLimitError extends MailroomError {
  override readonly kind = 'rate_limit';

  /** Seconds the server asked to wait, when it said. */
  get retryAfterSeconds(): number | null {
    const ms = retryAfterMs(this.headers.get('retry-after'), Date.now());
    return ms === null ? null : Math.ceil(ms / 1000);
  }
}

/** 5xx after the client's retries. */
export class ServerError extends MailroomError {
  override readonly kind = 'server';
}

/** No answer at all (connection refused or reset, DNS, a timeout). */
export class ConnectionError extends MailroomError {
  override readonly kind = 'connection';
}

/** The error for an answer with this status. */
export function errorFor(init: MailroomErrorInit): MailroomError {
  const { status } = init;
  if (status === 400 || status === 422) return new ValidationError(init);
  if (status === 401) return new AuthenticationError(init);
  if (status === 403) return new PermissionError(init);
  if (status === 404) return new NotFoundError(init);
  if (status === 409) return new ConflictError(init);
  if (status === 429) return new RateLimitError(init);
  if (status >= 500) return new ServerError(init);
  return new MailroomError(init);
}

/** Retry-After in milliseconds from now: delay-seconds or an HTTP date (RFC 9110 section 10.2.3); null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
