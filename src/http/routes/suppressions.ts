import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { bareAddressProblem } from '../../sending/addresses.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { isStorableText, UNSTORABLE_TEXT } from '../../shared/storable.js';
import { parseSuppressionCsv, suppressionsToCsv } from '../../suppression/csv.js';
import {
  addSuppressions, deleteSuppression, exportSuppressions, getSuppression, isValidCursor, listSuppressions, normalizeAddress, SUPPRESSION_REASONS, type SuppressionReason,
} from '../../suppression/suppressions.js';
import type { SendPipeline } from '../../sending/pipeline.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { Csv, ErrorResponse, NullableString, One, PageOf, SERIALIZED_AS_JSON, Timestamp } from '../schemas.js';

const Reason = Type.Union(SUPPRESSION_REASONS.map((reason) => Type.Literal(reason)));
const Entry = Type.Object({
  address: Type.String({ minLength: 3, maxLength: 320 }),
  reason: Type.Optional(Type.Union(SUPPRESSION_REASONS.map((reason) => Type.Literal(reason)), { description: 'default MANUAL' })),
}, { additionalProperties: false });
const AddBody = Type.Union([
  Entry,
  Type.Object({
    addresses: Type.Array(Type.Union([Type.String({ minLength: 3, maxLength: 320 }), Entry]), {
      minItems: 1, maxItems: 1000, description: 'addresses, or {address, reason} entries',
    }),
    reason: Type.Optional(Type.Union(SUPPRESSION_REASONS.map((reason) => Type.Literal(reason)), { description: 'of the addresses given as strings; default MANUAL' })),
  }, { additionalProperties: false }),
]);
const ListQuery = Type.Object({
  reason: Type.Optional(Reason),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
});
const AddressParams = Type.Object({ address: Type.String({ minLength: 1, maxLength: 320 }) });
const ImportQuery = Type.Object({ reason: Type.Optional(Reason) });

const Suppression = Type.Object({
  address: Type.String({ description: 'lower-cased (a HIPAA account: a keyed hash of it)' }),
  reason: Reason,
  messageId: NullableString('the message whose bounce, complaint or unsubscribe added it; null for MANUAL and imports without one'),
  createdAt: Timestamp,
});
const Added = Type.Object({ ...Suppression.properties, added: Type.Boolean({ description: 'false: the address was already listed and keeps its entry' }) });

/** 20 MB: a 100,000-row import with every column, with room to spare. */
const CSV_LIMIT = 20 * 1024 * 1024;

/** An address as given (body or path), held to the rules of POST /emails; lower-cased. */
function checked(address: string, field: string): string {
  const problem = bareAddressProblem(address);
  if (problem) throw validationError([{ field, message: problem }], `${JSON.stringify(address)} ${problem}.`);
  return normalizeAddress(address);
}

/**
 * The account's suppression list (SPEC section 7). Sends to a listed address are answered
 * REJECTED (HTTP) or 550 at RCPT (SMTP). The CSV routes take and give the same columns.
 */
export function suppressionRoutes(app: FastifyInstance, deps: { db: Database; clock: Clock; pipeline: Pick<SendPipeline, 'suppressionsChanged' | 'suppressionKey'> }): void {
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: CSV_LIMIT }, (_request, body, done) => done(null, body));

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/suppressions',
    { schema: { summary: 'List suppressed addresses, newest first', tags: ['suppressions'], querystring: ListQuery, response: { 200: PageOf(Suppression) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const { reason, limit = 100, cursor } = request.query;
      if (cursor !== undefined && !isValidCursor(cursor)) throw validationError([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
      const page = await listSuppressions(deps.db, principalOf(request).accountId, { reason: reason as SuppressionReason | undefined, limit, ...(cursor ? { cursor } : {}) });
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.data };
    },
  );

  app.post<{ Body: Static<typeof AddBody> }>(
    '/suppressions',
    { schema: { summary: 'Suppress an address ({address, reason}) or up to 1,000 ({addresses: [...]}); listed addresses keep their entry', tags: ['suppressions'], body: AddBody, response: { 201: One(Type.Union([Added, Type.Array(Added)], { description: 'the entry ({address}) or one per address, in order ({addresses})' })), 200: One(Type.Union([Added, Type.Array(Added)], { description: 'every address was already listed' })) } }, ...SERIALIZED_AS_JSON },
    async (request, reply) => {
      const body = request.body;
      const many = 'addresses' in body;
      const entries = many ? body.addresses.map((entry) => (typeof entry === 'string' ? { address: entry, reason: body.reason, bare: true } : entry)) : [body];
      // A HIPAA account's list holds keyed hashes, never addresses (docs/HIPAA.md).
      const key = await deps.pipeline.suppressionKey(principalOf(request));
      const normalized = entries.map((entry, index) => ({
        address: key(checked(entry.address, many ? `addresses[${index}]${'bare' in entry ? '' : '.address'}` : 'address')),
        reason: entry.reason ?? 'MANUAL',
      }));
      const { accountId } = principalOf(request);
      const added = await addSuppressions(deps.db, accountId, normalized, deps.clock.now());
      deps.pipeline.suppressionsChanged(accountId);
      const data = await Promise.all(normalized.map(async (entry) => ({ ...(await getSuppression(deps.db, accountId, entry.address))!, added: added.has(entry.address) })));
      // As POST /lists/{id}/contacts: 201 when an entry was made, 200 when every address was already listed.
      return reply.code(added.size > 0 ? 201 : 200).send({ meta: metaOf(request), data: many ? data : data[0] });
    },
  );

  app.get(
    '/suppressions/export.csv',
    { schema: { summary: 'The whole list as CSV: address, reason, messageId, createdAt', tags: ['suppressions'], response: { 200: Csv } } },
    async (request, reply) => {
      const entries = await exportSuppressions(deps.db, principalOf(request).accountId);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="suppressions.csv"').send(suppressionsToCsv(entries));
    },
  );

  app.post<{ Querystring: Static<typeof ImportQuery> }>(
    '/suppressions/import',
    {
      schema: {
        summary: 'Import a CSV (Content-Type: text/csv): a header naming address (or email) and optionally reason, messageId, createdAt; or addresses in the first column. All rows or none.',
        tags: ['suppressions'],
        querystring: ImportQuery,
        response: { 200: One(Type.Object({ rows: Type.Integer(), added: Type.Integer(), alreadyListed: Type.Integer() })), 413: ErrorResponse, 415: ErrorResponse },
      },
      ...SERIALIZED_AS_JSON,
    },
    async (request) => {
      if (typeof request.body !== 'string') throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the CSV with Content-Type: text/csv.');
      if (!isStorableText(request.body)) throw validationError([{ field: 'body', message: UNSTORABLE_TEXT }], `The CSV was not imported: it ${UNSTORABLE_TEXT}.`);
      const parsed = parseSuppressionCsv(request.body, (request.query.reason as SuppressionReason | undefined) ?? 'MANUAL');
      if (!parsed.ok) throw validationError(parsed.details, `The CSV was not imported: ${parsed.details[0]!.field} ${parsed.details[0]!.message}.`);
      const { accountId } = principalOf(request);
      const key = await deps.pipeline.suppressionKey(principalOf(request));
      const added = await addSuppressions(deps.db, accountId, parsed.entries.map((entry) => ({ ...entry, address: key(entry.address) })), deps.clock.now());
      deps.pipeline.suppressionsChanged(accountId);
      return { meta: metaOf(request), data: { rows: parsed.entries.length, added: added.size, alreadyListed: parsed.entries.length - added.size } };
    },
  );

  app.get<{ Params: Static<typeof AddressParams> }>(
    '/suppressions/:address',
    { schema: { summary: 'Is this address suppressed? 200 with its entry, or 404', tags: ['suppressions'], params: AddressParams, response: { 200: One(Suppression) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const principal = principalOf(request);
      const address = checked(request.params.address, 'address');
      const entry = await getSuppression(deps.db, principal.accountId, (await deps.pipeline.suppressionKey(principal))(address));
      if (!entry) throw new ApiError(404, 'NOT_FOUND', `${principal.accountHipaa ? 'This address' : address} is not suppressed in this account.`);
      return { meta: metaOf(request), data: entry };
    },
  );

  app.delete<{ Params: Static<typeof AddressParams> }>(
    '/suppressions/:address',
    { schema: { summary: 'Remove an address from the list: it may be sent to again', tags: ['suppressions'], params: AddressParams, response: { 200: One(Type.Object({ address: Type.String(), deleted: Type.Boolean() })) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const principal = principalOf(request);
      const { accountId } = principal;
      const address = (await deps.pipeline.suppressionKey(principal))(checked(request.params.address, 'address'));
      if (!(await deleteSuppression(deps.db, accountId, address))) {
        throw new ApiError(404, 'NOT_FOUND', `${principal.accountHipaa ? 'This address' : address} is not suppressed in this account.`);
      }
      deps.pipeline.suppressionsChanged(accountId);
      return { meta: metaOf(request), data: { address, deleted: true } };
    },
  );
}
