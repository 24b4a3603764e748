import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { createList, deleteList, getList, LIST_ID, LIST_LIMITS, listLists, OPT_INS, updateList } from '../../lists/lists.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { ErrorResponse, Meta, PageMeta } from '../schemas.js';

const Name = Type.String({ minLength: 1, maxLength: LIST_LIMITS.name, description: 'one line' });
const Description = Type.String({ maxLength: LIST_LIMITS.description });
const OptIn = Type.Union(OPT_INS.map((mode) => Type.Literal(mode)), {
  description: 'single: a contact added is subscribed; double: it is unconfirmed until it confirms by mail (sign-ups through POST /subscribe/{token})',
});
const FromAddress = Type.String({ maxLength: 320, description: 'the sender of the list\'s confirmation mails (double opt-in)' });
const FromName = Type.String({ maxLength: LIST_LIMITS.fromName });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const CreateBody = Type.Object({
  name: Name, description: Type.Optional(Description), optIn: Type.Optional(Type.Union(OptIn.anyOf, { description: `${OptIn.description} (default single)` })),
  fromAddress: Type.Optional(FromAddress), fromName: Type.Optional(FromName),
}, { additionalProperties: false });
const PatchBody = Type.Object({
  name: Type.Optional(Name), description: Type.Optional(Nullable(Description)), optIn: Type.Optional(OptIn),
  fromAddress: Type.Optional(Nullable(FromAddress)), fromName: Type.Optional(Nullable(FromName)),
}, { additionalProperties: false, minProperties: 1, description: 'the fields to change; null clears description, fromAddress and fromName' });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'the list id (list_...)' }) });
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
});

const Timestamp = Type.String({ format: 'date-time' });
const Counts = Type.Object({
  total: Type.Integer(), unconfirmed: Type.Integer(), subscribed: Type.Integer(), unsubscribed: Type.Integer(),
}, { description: 'members by list status, kept current in the transaction of every change' });
const ListFields = {
  id: Type.String({ description: 'list_...' }),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  optIn: OptIn,
  fromAddress: Type.Union([Type.String(), Type.Null()]),
  fromName: Type.Union([Type.String(), Type.Null()]),
  token: Type.String({ description: 'unguessable; names the list in its public subscribe URL, POST /subscribe/{token}' }),
  counts: Counts,
  createdAt: Timestamp,
  updatedAt: Timestamp,
};
const ListData = Type.Object(ListFields);
const ListDetail = Type.Object({
  ...ListFields,
  mailable: Type.Integer({ description: 'subscribed members whose address is not on the account\'s suppression list: whom a campaign to this list mails' }),
  suppressed: Type.Object({
    total: Type.Integer(), bounced: Type.Integer(), complained: Type.Integer(), unsubscribed: Type.Integer(), suppressed: Type.Integer(),
  }, { description: 'members on the suppression list, by the status they are shown with (hard bounce, complaint, unsubscribe link, an operator\'s entry)' }),
});
const One = Type.Object({ meta: Meta, data: ListData });
const Detail = Type.Object({ meta: Meta, data: ListDetail });
const Page = Type.Object({ meta: PageMeta, data: Type.Array(ListData) });
const Deleted = Type.Object({ meta: Meta, data: Type.Object({ id: Type.String(), name: Type.String(), members: Type.Integer({ description: 'memberships removed' }), deleted: Type.Boolean() }) });

type Id = Static<typeof IdParams>;

export function listNotFound(id: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', `No list ${JSON.stringify(id.slice(0, 64))} in this account.`);
}

/** Contact lists (issue 16, docs/CAMPAIGNS.md); their members are in contacts.ts, their imports in listImports.ts. */
export function listRoutes(app: FastifyInstance, deps: { db: Database; clock: Clock }): void {
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/lists',
    { schema: { summary: 'Create a contact list', tags: ['lists'], body: CreateBody, response: { 201: One, 400: ErrorResponse } } },
    async (request, reply) => {
      const data = await createList(deps.db, principalOf(request).accountId, request.body, deps.clock.now());
      return reply.code(201).send({ meta: metaOf(request), data });
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/lists',
    { schema: { summary: 'The lists, newest first, with their members by list status', tags: ['lists'], querystring: ListQuery, response: { 200: Page, 400: ErrorResponse } } },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      if (cursor !== undefined && !LIST_ID.test(cursor)) throw validationError([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
      const page = await listLists(deps.db, principalOf(request).accountId, { limit, ...(cursor === undefined ? {} : { cursor }) });
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.data };
    },
  );

  app.get<{ Params: Id }>(
    '/lists/:id',
    { schema: { summary: 'A list, with its members by list status and the suppression list applied', tags: ['lists'], params: IdParams, response: { 200: Detail, 404: ErrorResponse } } },
    async (request) => {
      const data = await getList(deps.db, principalOf(request).accountId, request.params.id);
      if (!data) throw listNotFound(request.params.id);
      return { meta: metaOf(request), data };
    },
  );

  app.patch<{ Params: Id; Body: Static<typeof PatchBody> }>(
    '/lists/:id',
    { schema: { summary: 'Change a list\'s name, description, opt-in mode or sender', tags: ['lists'], params: IdParams, body: PatchBody, response: { 200: One, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const data = await updateList(deps.db, principalOf(request).accountId, request.params.id, request.body, deps.clock.now());
      if (!data) throw listNotFound(request.params.id);
      return { meta: metaOf(request), data };
    },
  );

  app.delete<{ Params: Id }>(
    '/lists/:id',
    { schema: { summary: 'Delete a list and its memberships (the contacts stay, with their other lists)', tags: ['lists'], params: IdParams, response: { 200: Deleted, 404: ErrorResponse } } },
    async (request) => {
      const deleted = await deleteList(deps.db, principalOf(request).accountId, request.params.id, deps.clock.now());
      if (!deleted) throw listNotFound(request.params.id);
      return { meta: metaOf(request), data: { ...deleted, deleted: true } };
    },
  );
}
