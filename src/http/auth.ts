import type { FastifyRequest } from 'fastify';
import type { KeyAuthenticator, Principal } from '../accounts/apiKeys.js';
import { doorRefusal, type Door } from '../hipaa/door.js';
import { ApiError } from '../shared/errors.js';
import { allows, requiredScope } from '../accounts/scopes.js';
import { parseCookie } from 'cookie';
import { CSRF_HEADER, SESSION_COOKIE, type Session, type SessionStore } from '../sessions/sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SCHEME = /^(App|Bearer)\s+(\S+)\s*$/i;

/**
 * `Authorization: App <key>` or `Bearer <key>`; every route behind it sees only its account's
 * data. At `onRequest`, before the body is read: a HIPAA account's key on the standard listener
 * (or another account's on the HIPAA one) is refused before any content reaches the process.
 */
export function authHook(authenticator: KeyAuthenticator, door: Door = 'standard', sessions: SessionStore | null = null) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (!header && sessions) {
      const token = sessionTokenOf(request);
      if (token !== null) return signedIn(request, sessions, token, door);
    }
    if (!header) throw unauthorized('Missing Authorization header: use "App <key>" or "Bearer <key>".');
    const match = SCHEME.exec(header);
    if (!match) throw unauthorized('Malformed Authorization header: use "App <key>" or "Bearer <key>".');
    const principal = await authenticator.authenticate(match[2]!);
    if (!principal) throw unauthorized('The API key is not valid or was revoked.');
    // Known before the refusal below, so that a HIPAA key refused here is still audited.
    request.principal = principal;
    const refusal = doorRefusal(principal, door);
    if (refusal) throw refusal;
    // A route that does not exist answers 404 whatever the key may do.
    if (request.is404 || principal.scopes === null) return;
    const needed = requiredScope(request.method, request.routeOptions.url);
    if (!allows(principal.scopes, needed)) {
      throw new ApiError(403, 'INSUFFICIENT_SCOPE', `This API key has the scope(s) ${principal.scopes.join(', ')}; ${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} needs "${needed}".`);
    }
  };
}

/** Methods that change nothing: the only ones a signed-in browser may send without its CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The console's session token from the request's cookie, or null. */
export function sessionTokenOf(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  return parseCookie(header)[SESSION_COOKIE] ?? null;
}

/** A console sign-in: the same routes as a key with every scope, for the account the session acts on. */
async function signedIn(request: FastifyRequest, sessions: SessionStore, token: string, door: Door): Promise<void> {
  const session = await sessions.authenticate(token);
  if (!session) throw unauthorized('The session has expired or was signed out: sign in again.');
  request.principal = session.principal;
  const refusal = doorRefusal(session.principal, door);
  if (refusal) throw refusal;
  checkCsrf(request, sessions, token);
}

/** A request that changes something must carry the session's CSRF token (GET and HEAD need not). */
function checkCsrf(request: FastifyRequest, sessions: SessionStore, token: string): void {
  if (!SAFE_METHODS.has(request.method) && !sessions.csrfMatches(token, request.headers[CSRF_HEADER])) {
    throw new ApiError(403, 'CSRF_TOKEN_INVALID', `A signed-in request that changes something must carry the session's CSRF token in the ${CSRF_HEADER} header (GET /session gives it).`);
  }
}

/**
 * The console session of a route that takes nothing else (sign-out, the admin routes): 401 without
 * a live one, 403 without its CSRF token on a change.
 */
export async function requireSession(request: FastifyRequest, sessions: SessionStore): Promise<{ session: Session; token: string }> {
  const token = sessionTokenOf(request);
  const session = token === null ? null : await sessions.authenticate(token);
  if (!session || token === null) throw new ApiError(401, 'UNAUTHORIZED', 'Not signed in.');
  checkCsrf(request, sessions, token);
  return { session, token };
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'UNAUTHORIZED', message, [], { 'www-authenticate': 'Bearer realm="mailroom"' });
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('Authentication required.');
  return request.principal;
}
