import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { IMPORT_LIMITS } from '../../lists/importJob.js';
import type { ImportRunner } from '../../lists/importRunner.js';
import { IMPORT_ID, IMPORT_STATES } from '../../lists/imports.js';
import { getListRow } from '../../lists/lists.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { ErrorResponse, Meta, PageMeta } from '../schemas.js';
import { documentedOnly } from '../validation.js';
import { listNotFound } from './lists.js';

const ListParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'the list id (list_...)' }) });
const ImportParams = Type.Object({ id: ListParams.properties.id, importId: Type.String({ minLength: 1, maxLength: 64, description: 'imp_...' }) });
const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
});
const CsvBody = Type.String({
  description: `Content-Type: text/csv, at most ${IMPORT_LIMITS.bytes / 1024 / 1024} MB. A header row naming the columns: email (or address, email address, email_address, e-mail); ` +
    'optionally name, status (unconfirmed, subscribed, unsubscribed), attributes (a JSON object, as the export writes it); every other column is a string attribute of its name. ' +
    `Lines end in LF or CRLF; a record is at most ${IMPORT_LIMITS.recordBytes / 1024} KB.`,
});

const Timestamp = Type.String({ format: 'date-time' });
const ImportData = Type.Object({
  id: Type.String({ description: 'imp_...' }),
  listId: Type.String(),
  state: Type.Union(IMPORT_STATES.map((state) => Type.Literal(state)), { description: 'failed also when the process running it stopped (error says so): import the file again, nothing is done twice' }),
  bytes: Type.Integer(),
  rowsRead: Type.Integer({ description: 'added + updated + unchanged + refused, so far' }),
  added: Type.Integer({ description: 'new members of the list' }),
  updated: Type.Integer({ description: 'members whose name, attributes or status changed' }),
  unchanged: Type.Integer(),
  refused: Type.Integer(),
  refusals: Type.Array(Type.Object({ line: Type.Integer(), reason: Type.String() }), { description: `the first ${IMPORT_LIMITS.refusals} refused rows by line number` }),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
});
const One = Type.Object({ meta: Meta, data: ImportData });
const Page = Type.Object({ meta: PageMeta, data: Type.Array(ImportData) });

type ListId = Static<typeof ListParams>;
type ImportId = Static<typeof ImportParams>;

function importNotFound(id: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', `No import ${JSON.stringify(id.slice(0, 64))} of this list.`);
}

/**
 * CSV imports into a list (src/lists/importRunner.ts): POST answers 202 with the job as soon as
 * the file is spooled and its header checked; the rows are read in the background.
 */
export function listImportRoutes(app: FastifyInstance, deps: { db: Database; imports: ImportRunner }): void {
  // In a scope of their own: the body is handed over as the stream it is (the suppression
  // import's text/csv parser, which reads a whole body into a string, is not inherited here).
  void app.register(async (scope) => {
    scope.removeContentTypeParser('text/csv');
    scope.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));

    scope.post<{ Params: ListId }>(
      '/lists/:id/imports',
      {
        schema: {
          summary: 'Import contacts from a CSV file (Content-Type: text/csv): answered 202 with the import job at once; GET it for its progress. Bad rows are refused one by one, never the file. Importing a file twice changes nothing the second time.',
          tags: ['lists'], params: ListParams, consumes: ['text/csv'], body: CsvBody,
          response: { 202: One, 400: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse },
        },
        ...documentedOnly('body'),
      },
      async (request, reply) => {
        const { accountId } = principalOf(request);
        if (!(request.body instanceof Readable)) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the CSV file as the body, with Content-Type: text/csv.');
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > IMPORT_LIMITS.bytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `A CSV import is at most ${IMPORT_LIMITS.bytes / 1024 / 1024} MB; split the file.`, [], { connection: 'close' });
        if (!(await getListRow(deps.db, accountId, request.params.id))) throw listNotFound(request.params.id);
        const data = await deps.imports.accept(accountId, request.params.id, request.body);
        return reply.code(202).header('location', `/lists/${data.listId}/imports/${data.id}`).send({ meta: metaOf(request), data });
      },
    );
  });

  app.get<{ Params: ListId; Querystring: Static<typeof PageQuery> }>(
    '/lists/:id/imports',
    { schema: { summary: 'The CSV imports of a list, newest first', tags: ['lists'], params: ListParams, querystring: PageQuery, response: { 200: Page, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const { accountId } = principalOf(request);
      const { limit = 20, cursor } = request.query;
      if (cursor !== undefined && !IMPORT_ID.test(cursor)) throw validationError([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
      if (!(await getListRow(deps.db, accountId, request.params.id))) throw listNotFound(request.params.id);
      const page = await deps.imports.list(accountId, request.params.id, { limit, ...(cursor === undefined ? {} : { cursor }) });
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.data };
    },
  );

  app.get<{ Params: ImportId }>(
    '/lists/:id/imports/:importId',
    { schema: { summary: 'An import: its state, rows read, added, updated, unchanged, refused, and the first refused lines with why', tags: ['lists'], params: ImportParams, response: { 200: One, 404: ErrorResponse } } },
    async (request) => {
      const data = await deps.imports.get(principalOf(request).accountId, request.params.id, request.params.importId);
      if (!data) throw importNotFound(request.params.importId);
      return { meta: metaOf(request), data };
    },
  );

  app.delete<{ Params: ImportId }>(
    '/lists/:id/imports/:importId',
    { schema: { summary: 'Stop a running import: the batches written stay (the counts say what they did), the one in flight is rolled back', tags: ['lists'], params: ImportParams, response: { 200: One, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => {
      const { accountId } = principalOf(request);
      const { id, importId } = request.params;
      const canceled = await deps.imports.cancel(accountId, id, importId);
      if (canceled) return { meta: metaOf(request), data: canceled };
      const current = await deps.imports.get(accountId, id, importId);
      if (!current) throw importNotFound(importId);
      throw new ApiError(409, 'CONFLICT', `The import is ${current.state} already; only a running import can be stopped.`);
    },
  );
}
