import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { listAccounts } from '../../accounts/accounts.js';
import type { Database } from '../../db/database.js';
import { reinstateAccount } from '../../reputation/reputation.js';
import type { Session, SessionStore } from '../../sessions/sessions.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError } from '../../shared/errors.js';
import { requireSession } from '../auth.js';
import { metaOf } from '../errors.js';
import { ErrorResponse, ListOf, One, SERIALIZED_AS_JSON } from '../schemas.js';

const SwitchBody = Type.Object({ account: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });
const errors = { 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

/**
 * The installation admin's routes (issue 18): an operator whose role is `admin`
 * (`mailroom operators create NAME --account A --password --admin`) signed in to the console may
 * list every account, switch the session to another one, and reinstate a suspended one. Console
 * sessions only: no API key reaches them, so no script can act across accounts.
 */
export function adminRoutes(app: FastifyInstance, deps: { db: Database; sessions: SessionStore; clock: Clock }): void {
  async function admin(request: FastifyRequest): Promise<Session> {
    const { session } = await requireSession(request, deps.sessions);
    if (session.role !== 'admin') throw new ApiError(403, 'ADMIN_REQUIRED', 'Only an admin operator of the installation may do this.');
    return session;
  }

  app.get(
    '/admin/accounts',
    { schema: { summary: 'Every account of the installation (admin operators, console session)', tags: ['admin'], security: [], response: { 200: ListOf(Type.Object({ name: Type.String(), status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]), hipaa: Type.Boolean(), activeKeys: Type.Integer() })), ...errors } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      await admin(request);
      const accounts = await listAccounts(deps.db);
      return { meta: metaOf(request), data: accounts.map((account) => ({ name: account.name, status: account.status, hipaa: account.hipaa, activeKeys: Number(account.active_keys) })) };
    },
  );

  app.put<{ Body: Static<typeof SwitchBody> }>(
    '/session/account',
    { schema: { summary: 'Switch the console session to another account (admin operators)', tags: ['admin'], security: [], body: SwitchBody, response: { 200: One(Type.Object({ account: Type.String() })), ...errors, 400: ErrorResponse } } },
    async (request) => {
      const session = await admin(request);
      if (!(await deps.sessions.switchAccount(session.id, request.body.account))) {
        throw new ApiError(404, 'NOT_FOUND', `No account named "${request.body.account}" that the console serves.`);
      }
      return { meta: metaOf(request), data: { account: request.body.account } };
    },
  );

  app.post<{ Params: Static<typeof NameParams> }>(
    '/admin/accounts/:name/reinstate',
    { schema: { summary: 'Reinstate a suspended account: it may send again, and its rates start over (admin operators)', tags: ['admin'], security: [], params: NameParams, response: { 200: One(Type.Object({ account: Type.String(), status: Type.Literal('active') })), ...errors } } },
    async (request) => {
      const session = await admin(request);
      const by = `admin operator ${session.principal.operatorName} of ${session.principal.accountName} (console)`;
      if (!(await reinstateAccount(deps.db, request.params.name, deps.clock.now(), by))) throw new ApiError(404, 'NOT_FOUND', `No account named "${request.params.name}".`);
      return { meta: metaOf(request), data: { account: request.params.name, status: 'active' } };
    },
  );
}
