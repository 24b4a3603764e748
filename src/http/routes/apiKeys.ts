import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AccountError } from '../../accounts/accounts.js';
import { insertKey, listAccountKeys, revokeAccountKey, type KeyAuthenticator } from '../../accounts/apiKeys.js';
import { mayGrant, SCOPES } from '../../accounts/scopes.js';
import type { Database } from '../../db/database.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { ErrorResponse, Meta, PageMeta } from '../schemas.js';

const ScopeList = Type.Array(Type.Union(SCOPES.map((scope) => Type.Literal(scope))), {
  minItems: 1, maxItems: SCOPES.length,
  description: '"send": POST /emails and SMTP; "read": every GET; "admin": every other change. Without scopes a key may do everything',
});
const CreateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 100, description: 'a label, e.g. the application that uses it' })),
    scopes: Type.Optional(ScopeList),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$', description: 'nextCursor of the previous page' })),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'the last id of the previous page (as cursor; cursor is preferred)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) });
const KeyInfo = Type.Object({
  id: Type.Integer(), prefix: Type.String({ description: 'the first characters of the key, to tell keys apart' }), name: Type.String(), operator: Type.String(),
  scopes: Type.Union([ScopeList, Type.Null()]), createdAt: Type.String({ format: 'date-time' }), revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const Created = Type.Object({
  meta: Meta,
  data: Type.Object({ id: Type.Integer(), key: Type.String({ description: 'the key itself: shown in this response only' }), prefix: Type.String(), scopes: Type.Union([ScopeList, Type.Null()]) }),
});
const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse };

/**
 * API keys of the account (issue 18): create one (the key is in that response only; it is
 * stored as a SHA-256 digest), list them, revoke one. Keys belong to the operator who makes
 * them. A scoped key may make only keys with its own scopes or fewer; revoking is `admin`.
 */
export function apiKeyRoutes(app: FastifyInstance, deps: { db: Database; authenticator: KeyAuthenticator }): void {
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api-keys',
    { schema: { summary: 'Create an API key (the key is shown only in this response)', tags: ['api-keys'], body: CreateBody, response: { 201: Created, ...errors } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const scopes = request.body.scopes ?? null;
      if (!mayGrant(principal.scopes, scopes)) {
        throw new ApiError(403, 'INSUFFICIENT_SCOPE', `This API key has the scope(s) ${principal.scopes!.join(', ')}; it cannot make a key that may do more (${scopes?.join(', ') ?? 'every scope'}).`);
      }
      try {
        const created = await insertKey(deps.db, principal.accountId, principal.operatorId, { name: request.body.name ?? '', scopes });
        return reply.code(201).send({ meta: metaOf(request), data: created });
      } catch (error) {
        if (error instanceof AccountError) throw validationError([{ field: 'name', message: error.message }], `The key ${error.message}.`);
        throw error;
      }
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api-keys',
    { schema: { summary: "The account's API keys, revoked ones too (never the keys themselves), by id", tags: ['api-keys'], querystring: ListQuery, response: { 200: Type.Object({ meta: PageMeta, data: Type.Array(KeyInfo) }), ...errors } } },
    async (request) => {
      const { cursor, limit = 100 } = request.query;
      const after = cursor !== undefined ? Number(cursor) : request.query.after ?? 0;
      const data = await listAccountKeys(deps.db, principalOf(request).accountId, after, limit);
      return { meta: pageMetaOf(request, limit, data.length === limit ? data.at(-1)!.id : null), data };
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api-keys/:id',
    { schema: { summary: 'Revoke an API key: it stops working at once on this server, within seconds on the others', tags: ['api-keys'], params: IdParams, response: { 200: Type.Object({ meta: Meta, data: Type.Object({ id: Type.Integer(), revoked: Type.Boolean() }) }), ...errors, 404: ErrorResponse } } },
    async (request) => {
      const id = Number(request.params.id);
      if (!(await revokeAccountKey(deps.db, principalOf(request).accountId, id))) {
        throw new ApiError(404, 'NOT_FOUND', `No active API key ${id} in this account.`);
      }
      deps.authenticator.forget();
      return { meta: metaOf(request), data: { id, revoked: true } };
    },
  );
}
