/**
 * The console's one way to the server: the public HTTP API, same origin, with the session cookie
 * the browser holds and the session's CSRF token on every request that changes something.
 */

export interface ErrorDetail {
  field: string;
  message: string;
}

/** An error answer of the API (SPEC section 11), or a network failure (status 0). */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

/** The problem an error answer describes; a body that is not the API's error shape still gives a readable message. */
export function problemOf(status: number, body: unknown, retryAfter: string | null = null): ApiProblem {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`;
  const message = typeof error?.message === 'string' ? error.message : `The server answered ${status}.`;
  const details = Array.isArray(error?.details)
    ? error.details.filter((detail): detail is ErrorDetail => typeof detail?.field === 'string' && typeof detail?.message === 'string')
    : [];
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
  return new ApiProblem(status, code, message, details, seconds);
}

let csrfToken: string | null = null;

/** Set from the session (sign-in, or GET /session when the page loads). */
export function useCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The session's CSRF token, for requests made without `api` (uploads with progress). */
export function currentCsrfToken(): string | null {
  return csrfToken;
}

const SAFE = new Set(['GET', 'HEAD']);

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch {
    throw new ApiProblem(0, 'NETWORK', 'Mailroom could not be reached. Check the connection and try again.');
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const problem = problemOf(response.status, json, response.headers.get('retry-after'));
    if (response.status === 401 && path !== '/session') onSignedOut?.();
    throw problem;
  }
  return json as T;
}

let onSignedOut: (() => void) | null = null;

/** What to do when the session is found to have ended (expired, signed out elsewhere). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export interface Page<T> {
  data: T[];
  meta: { pagination?: { nextCursor: string | null } };
}

export interface SessionInfo {
  operator: string;
  account: string;
  role: 'operator' | 'admin';
  csrfToken: string;
  expiresAt: string;
}
