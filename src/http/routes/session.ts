import { Type, type Static } from '@sinclair/typebox';
import { stringifySetCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkSignIn } from '../../accounts/operators.js';
import type { Database } from '../../db/database.js';
import { CSRF_HEADER, SESSION_COOKIE, type SessionStore } from '../../sessions/sessions.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError } from '../../shared/errors.js';
import { LoginThrottle } from '../../smtp/limits.js';
import { requireSession, sessionTokenOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { ErrorResponse, Meta } from '../schemas.js';

const SignIn = Type.Object(
  {
    account: Type.String({ minLength: 1, maxLength: 200, description: 'the account (space) the operator belongs to' }),
    operator: Type.String({ minLength: 1, maxLength: 200 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
const SessionData = Type.Object({
  operator: Type.String(), account: Type.String(), role: Type.Union([Type.Literal('operator'), Type.Literal('admin')]),
  csrfToken: Type.String({ description: `send it in the ${CSRF_HEADER} header of every request that changes something` }),
  expiresAt: Type.String({ format: 'date-time' }),
});
const SessionResponse = Type.Object({ meta: Meta, data: SessionData });
const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 429: ErrorResponse };

/** Failed sign-ins from one address, on top of each operator's own lock-out: guessing across many operators is slowed too. */
const ADDRESS_FAILURES = 20;
const ADDRESS_WINDOW_MS = 15 * 60_000;

function cookie(request: FastifyRequest, value: string, expires: Date): string {
  // Secure when the browser reached Mailroom over TLS (directly, or through a proxy it trusts).
  return stringifySetCookie({ name: SESSION_COOKIE, value, httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: '/', expires });
}

function signedOut(reply: FastifyReply, request: FastifyRequest): void {
  reply.header('set-cookie', cookie(request, '', new Date(0)));
}

/**
 * The console's sign-in (issue 18): `POST /session` with an operator's password sets the session
 * cookie and answers the CSRF token; `GET /session` says who is signed in; `DELETE /session`
 * signs out. Served on the standard listener only: the console never serves HIPAA accounts.
 */
export function sessionRoutes(app: FastifyInstance, deps: { db: Database; sessions: SessionStore; clock: Clock }): void {
  const throttle = new LoginThrottle(ADDRESS_FAILURES, ADDRESS_WINDOW_MS);

  app.post<{ Body: Static<typeof SignIn> }>(
    '/session',
    { schema: { summary: 'Sign in to the console with an operator\'s password: sets the session cookie', tags: ['session'], security: [], body: SignIn, response: { 200: SessionResponse, ...errors } } },
    async (request, reply) => {
      const wait = throttle.lockedFor(request.ip);
      if (wait > 0) {
        throw new ApiError(429, 'RATE_LIMITED', 'Too many failed sign-ins from your address: wait and try again.', [], { 'retry-after': String(Math.ceil(wait / 1000)) });
      }
      const { account, operator, password } = request.body;
      const now = deps.clock.now();
      const result = await checkSignIn(deps.db, account, operator, password, now);
      if (result.outcome !== 'ok') {
        throttle.fail(request.ip);
        if (result.outcome === 'locked') {
          const seconds = Math.max(1, Math.ceil((result.until.getTime() - now.getTime()) / 1000));
          throw new ApiError(429, 'OPERATOR_LOCKED', `Too many failed sign-ins for this operator: try again after ${result.until.toISOString()}.`, [], { 'retry-after': String(seconds) });
        }
        throw new ApiError(401, 'INVALID_CREDENTIALS', 'The account, operator or password is not right.');
      }
      if (result.operator.accountHipaa) {
        throw new ApiError(403, 'HIPAA_ENDPOINT_REQUIRED', 'The console does not serve HIPAA accounts: they are served by the HIPAA API listener only.');
      }
      const created = await deps.sessions.create(result.operator, request.ip);
      reply.header('set-cookie', cookie(request, created.token, created.expiresAt));
      return {
        meta: metaOf(request),
        data: { operator: result.operator.operatorName, account: result.operator.accountName, role: result.operator.role, csrfToken: created.csrfToken, expiresAt: created.expiresAt.toISOString() },
      };
    },
  );

  app.get(
    '/session',
    { schema: { summary: 'Who is signed in (the session cookie), with the CSRF token', tags: ['session'], security: [], response: { 200: SessionResponse, 401: ErrorResponse } } },
    async (request) => {
      const token = sessionTokenOf(request);
      const session = token === null ? null : await deps.sessions.authenticate(token);
      if (!session || token === null) throw new ApiError(401, 'UNAUTHORIZED', 'Not signed in.');
      const { principal } = session;
      return {
        meta: metaOf(request),
        data: { operator: principal.operatorName, account: principal.accountName, role: session.role, csrfToken: deps.sessions.csrfToken(token), expiresAt: session.expiresAt },
      };
    },
  );

  app.delete(
    '/session',
    { schema: { summary: 'Sign out: the session ends at once and the cookie is cleared', tags: ['session'], security: [], response: { 200: Type.Object({ meta: Meta, data: Type.Object({ signedOut: Type.Boolean() }) }), 401: ErrorResponse, 403: ErrorResponse } } },
    async (request, reply) => {
      const { token } = await requireSession(request, deps.sessions).catch((error: unknown) => {
        // A dead session's cookie is cleared too.
        if (error instanceof ApiError && error.status === 401) signedOut(reply, request);
        throw error;
      });
      await deps.sessions.revoke(token);
      signedOut(reply, request);
      return { meta: metaOf(request), data: { signedOut: true } };
    },
  );
}
