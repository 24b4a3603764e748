import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { ATTRIBUTE_LIMITS, attributesProblems, type Attributes } from '../../lists/attributes.js';
import { checkContactInput, NAME_LENGTH, nameProblem, type ContactInput } from '../../lists/contactInput.js';
import {
  addMembers, eraseContact, getContact, getMember, listMembers, parseContactKey, patchMember, removeMembers, type ContactKey, type MemberPatch, type WriteOutcome,
} from '../../lists/contacts.js';
import { exportMembers } from '../../lists/exportCsv.js';
import { getListRow } from '../../lists/lists.js';
import { isListStatus, LIST_STATUSES, SHOWN_STATUSES, type ListStatus, type ShownStatus } from '../../lists/statuses.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError, validationError, type ErrorDetail } from '../../shared/errors.js';
import { ID_MAX, isStorableText } from '../../shared/storable.js';
import { SUPPRESSION_REASONS } from '../../suppression/suppressions.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { Csv, ErrorResponse, Meta, PageMeta } from '../schemas.js';
import { documentedOnly } from '../validation.js';
import { listNotFound } from './lists.js';

const MAX_BULK = 1_000;

const AttributeValue = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
const ATTRIBUTES_RULES = `name: string, number, boolean or null; at most ${ATTRIBUTE_LIMITS.keys} names of at most ${ATTRIBUTE_LIMITS.nameLength} characters (letters, digits, "_", "-", "." and inner spaces), ${ATTRIBUTE_LIMITS.bytes} bytes as JSON. Usable as template placeholders.`;
const attributesSchema = (more = '') => Type.Record(Type.String(), AttributeValue, { maxProperties: ATTRIBUTE_LIMITS.keys, description: `${ATTRIBUTES_RULES}${more}` });
const AttributesSchema = attributesSchema();
const ListStatusSchema = Type.Union(LIST_STATUSES.map((status) => Type.Literal(status)));
const ContactBody = Type.Object({
  email: Type.String({ maxLength: 320, description: 'the address; compared and stored lower-cased, as the suppression list does' }),
  name: Type.Optional(Type.Union([Type.String({ maxLength: NAME_LENGTH }), Type.Null()])),
  attributes: Type.Optional(attributesSchema(' Merged into the contact\'s own (a name given replaces its value).')),
  status: Type.Optional(Type.Union(ListStatusSchema.anyOf, {
    description: 'subscribed pre-confirms (the caller vouches for the consent); without a status, a new member is subscribed on a single opt-in list and unconfirmed on a double one, and a member keeps its status',
  })),
}, { additionalProperties: false });
const AddBody = Type.Union([ContactBody, Type.Object({ contacts: Type.Array(ContactBody, { minItems: 1, maxItems: MAX_BULK }) }, { additionalProperties: false })], {
  description: `one contact, or {"contacts": [...]} with up to ${MAX_BULK}: each is added or updated on its own (one result per contact, in order)`,
});
const PatchBody = Type.Object({
  name: Type.Optional(Type.Union([Type.String({ maxLength: NAME_LENGTH }), Type.Null()], { description: 'null clears it' })),
  attributes: Type.Optional(attributesSchema(' Replaces the contact\'s attributes (POST merges them).')),
  status: Type.Optional(ListStatusSchema),
}, { additionalProperties: false, minProperties: 1, description: 'name and attributes are the contact\'s (on every list); status is its status on this list' });
const ContactRef = Type.Union([Type.String({ maxLength: 320 }), Type.Integer({ minimum: 1, maximum: ID_MAX })], { description: 'a contact id or an email address' });
const RemoveBody = Type.Object({ contacts: Type.Array(ContactRef, { minItems: 1, maxItems: MAX_BULK }) }, { additionalProperties: false });

const ListParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'the list id (list_...)' }) });
const ContactParam = Type.String({ minLength: 1, maxLength: 320, description: 'a contact id or an email address' });
const MemberParams = Type.Object({ id: ListParams.properties.id, contact: ContactParam });
const ContactParams = Type.Object({ contact: ContactParam });
const MembersQuery = Type.Object({
  status: Type.Optional(Type.Union(SHOWN_STATUSES.map((status) => Type.Literal(status)), { description: 'as shown: bounced, complained and suppressed come from the suppression list' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 20, description: 'nextCursor of the previous page' })),
});

const Timestamp = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Timestamp, Type.Null()]);
const Suppression = Type.Union([Type.Object({ reason: Type.Union(SUPPRESSION_REASONS.map((reason) => Type.Literal(reason))), since: Timestamp }), Type.Null()]);
const ShownStatusSchema = Type.Union(SHOWN_STATUSES.map((status) => Type.Literal(status)), {
  description: 'the list status, unless the address is on the suppression list: bounced (hard bounce), complained, unsubscribed (its unsubscribe link) or suppressed (an operator\'s entry)',
});
const MemberData = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  attributes: AttributesSchema,
  status: ShownStatusSchema,
  listStatus: ListStatusSchema,
  suppressed: Type.Boolean({ description: 'on the account\'s suppression list: never mailed' }),
  suppression: Suppression,
  createdAt: Type.String({ format: 'date-time', description: 'when it joined the list' }),
  subscribedAt: NullableTime,
  unsubscribedAt: NullableTime,
  updatedAt: Timestamp,
});
const ContactData = Type.Object({
  id: Type.Integer(), email: Type.String(), name: Type.Union([Type.String(), Type.Null()]), attributes: AttributesSchema,
  suppressed: Type.Boolean(), suppression: Suppression,
  lists: Type.Array(Type.Object({
    listId: Type.String(), listName: Type.String(), status: ShownStatusSchema, listStatus: ListStatusSchema,
    createdAt: Timestamp, subscribedAt: NullableTime, unsubscribedAt: NullableTime, updatedAt: Timestamp,
  })),
  createdAt: Timestamp, updatedAt: Timestamp,
});
const Outcome = Type.Union([Type.Literal('added'), Type.Literal('updated'), Type.Literal('unchanged')]);
const ItemError = Type.Object({ error: ErrorResponse.properties.error });
const Tally = Type.Object({ added: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer(), refused: Type.Integer() });
const AddOne = Type.Object({ meta: Meta, data: MemberData, result: Outcome });
const AddMany = Type.Object({ meta: Meta, data: Type.Array(Type.Union([Type.Object({ data: MemberData, result: Outcome }), ItemError])), counts: Tally });
const MemberOne = Type.Object({ meta: Meta, data: MemberData });
const MemberPage = Type.Object({ meta: PageMeta, data: Type.Array(MemberData) });
const Removed = Type.Object({ meta: Meta, data: Type.Object({ id: Type.Integer(), email: Type.String(), removed: Type.Boolean() }) });
const RemovedMany = Type.Object({
  meta: Meta,
  data: Type.Array(Type.Union([Type.Object({ contact: Type.Union([Type.String(), Type.Integer()]), removed: Type.Boolean({ description: 'false: not a member of the list' }) }), ItemError])),
  removed: Type.Integer(),
});
const ContactOne = Type.Object({ meta: Meta, data: ContactData });
const Erased = Type.Object({ meta: Meta, data: Type.Object({ id: Type.Integer(), email: Type.String(), lists: Type.Integer({ description: 'lists it was removed from' }), deleted: Type.Boolean() }) });

type ListId = Static<typeof ListParams>;
type MemberId = Static<typeof MemberParams>;

function noContact(contact: string, where: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', `No contact ${JSON.stringify(contact.slice(0, 320))} ${where}.`);
}

function errorOf(details: ErrorDetail[]): { error: { code: string; message: string; details: ErrorDetail[] } } {
  return { error: { code: 'VALIDATION_ERROR', message: `The contact is not valid: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}.`, details } };
}

/**
 * A PATCH body, checked here rather than by the schema (which documents it): Ajv's type coercion
 * would turn an attribute [1] into 1 quietly.
 */
function checkPatch(body: unknown): MemberPatch {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw validationError([{ field: '', message: 'the body must be a JSON object' }]);
  const given = body as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(given)) if (!['name', 'attributes', 'status'].includes(key)) details.push({ field: isStorableText(key) ? key : '?', message: 'is not a field of a member' });
  if (Object.keys(given).length === 0) details.push({ field: '', message: 'give at least one of name, attributes, status' });
  const { name, attributes, status } = given;
  if (name !== undefined && name !== null) {
    const problem = typeof name === 'string' ? nameProblem(name) : 'must be a string or null';
    if (problem) details.push({ field: 'name', message: problem });
  }
  if (attributes !== undefined) details.push(...attributesProblems(attributes));
  if (status !== undefined && !isListStatus(status)) details.push({ field: 'status', message: `must be one of ${LIST_STATUSES.join(', ')}` });
  if (details.length > 0) throw validationError(details, errorOf(details).error.message);
  const patch: MemberPatch = {};
  if (name !== undefined) patch.name = name === null ? null : (name as string).trim() || null;
  if (attributes !== undefined) patch.attributes = attributes as Attributes;
  if (status !== undefined) patch.status = status as ListStatus;
  return patch;
}

/**
 * Members of a list (/lists/{id}/contacts, its CSV export) and contacts across lists
 * (/contacts/{contact}). A contact is named by its id or its address.
 */
export function contactRoutes(app: FastifyInstance, deps: { db: Database; clock: Clock }): void {
  app.post<{ Params: ListId; Body: unknown }>(
    '/lists/:id/contacts',
    {
      schema: {
        summary: `Add or update a contact on the list, or up to ${MAX_BULK} ({"contacts": [...]}, one result each: the valid ones are stored whatever the others)`,
        tags: ['lists'], params: ListParams, body: AddBody, response: { 200: Type.Union([AddOne, AddMany]), 201: AddOne, 400: ErrorResponse, 404: ErrorResponse },
      },
      ...documentedOnly('body'),
    },
    async (request, reply) => {
      const body = request.body;
      const bulk = body !== null && typeof body === 'object' && !Array.isArray(body) && 'contacts' in body;
      if (bulk && (Object.keys(body).length !== 1 || !Array.isArray((body as { contacts: unknown }).contacts) || (body as { contacts: unknown[] }).contacts.length === 0 || (body as { contacts: unknown[] }).contacts.length > MAX_BULK)) {
        throw validationError([{ field: 'contacts', message: `must be an array of 1 to ${MAX_BULK} contacts, alone in the body` }]);
      }
      const items = bulk ? (body as { contacts: unknown[] }).contacts : [body];
      const checked = items.map((item, index) => checkContactInput(item, bulk ? `contacts[${index}]` : ''));
      const { accountId } = principalOf(request);
      if (!bulk) {
        const only = checked[0]!;
        if (!only.ok) throw validationError(only.details, errorOf(only.details).error.message);
        const [written] = (await addMembers(deps.db, accountId, request.params.id, [only.value], deps.clock.now())) ?? [];
        if (!written) throw listNotFound(request.params.id);
        return reply.code(written.outcome === 'added' ? 201 : 200).send({ meta: metaOf(request), data: written.member, result: written.outcome });
      }
      const valid = checked.flatMap((entry) => (entry.ok ? [entry.value] : [])) as ContactInput[];
      const written = valid.length > 0 ? await addMembers(deps.db, accountId, request.params.id, valid, deps.clock.now()) : await getListRow(deps.db, accountId, request.params.id).then((row) => (row ? [] : null));
      if (!written) throw listNotFound(request.params.id);
      const counts: Record<WriteOutcome | 'refused', number> = { added: 0, updated: 0, unchanged: 0, refused: 0 };
      let next = 0;
      const results = checked.map((entry) => {
        if (!entry.ok) {
          counts.refused++;
          return errorOf(entry.details);
        }
        const { member, outcome } = written[next++]!;
        counts[outcome]++;
        return { data: member, result: outcome };
      });
      return { meta: metaOf(request), data: results, counts };
    },
  );

  app.get<{ Params: ListId; Querystring: Static<typeof MembersQuery> }>(
    '/lists/:id/contacts',
    { schema: { summary: 'The members of a list in contact id order, optionally of one status', tags: ['lists'], params: ListParams, querystring: MembersQuery, response: { 200: MemberPage, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const { status, limit = 100, cursor } = request.query;
      if (cursor !== undefined && (!/^\d{1,16}$/.test(cursor) || Number(cursor) > ID_MAX)) throw validationError([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
      const page = await listMembers(deps.db, principalOf(request).accountId, request.params.id, {
        limit, ...(status === undefined ? {} : { status: status as ShownStatus }), ...(cursor === undefined ? {} : { after: Number(cursor) }),
      });
      if (!page) throw listNotFound(request.params.id);
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.data };
    },
  );

  app.get<{ Params: ListId }>(
    '/lists/:id/contacts.csv',
    { schema: { summary: 'Every member as CSV, streamed: email, name, status, subscribed_at, created_at, attributes (JSON), suppression. POST /lists/{id}/imports reads it back.', tags: ['lists'], params: ListParams, response: { 200: Csv, 404: ErrorResponse } } },
    async (request, reply) => {
      const { accountId } = principalOf(request);
      const list = await getListRow(deps.db, accountId, request.params.id);
      if (!list) throw listNotFound(request.params.id);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${list.id}.csv"`)
        .send(exportMembers(deps.db, accountId, Number(list.seq)));
    },
  );

  app.post<{ Params: ListId; Body: Static<typeof RemoveBody> }>(
    '/lists/:id/contacts/remove',
    { schema: { summary: `Take up to ${MAX_BULK} contacts (ids or addresses) off the list; the contacts stay`, tags: ['lists'], params: ListParams, body: RemoveBody, response: { 200: RemovedMany, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const refs = request.body.contacts;
      const keys = refs.map((ref, index): ContactKey | ErrorDetail[] => {
        try {
          return parseContactKey(String(ref), `contacts[${index}]`);
        } catch (error) {
          if (error instanceof ApiError) return error.details;
          throw error;
        }
      });
      const valid = keys.filter((key): key is ContactKey => !Array.isArray(key));
      const removed = await removeMembers(deps.db, principalOf(request).accountId, request.params.id, valid);
      if (!removed) throw listNotFound(request.params.id);
      let next = 0;
      const results = keys.map((key, index) => (Array.isArray(key) ? errorOf(key) : { contact: refs[index]!, removed: removed[next++]! }));
      return { meta: metaOf(request), data: results, removed: removed.filter(Boolean).length };
    },
  );

  app.get<{ Params: MemberId }>(
    '/lists/:id/contacts/:contact',
    { schema: { summary: 'One member of the list, by contact id or address', tags: ['lists'], params: MemberParams, response: { 200: MemberOne, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const { id, contact } = request.params;
      const member = await getMember(deps.db, principalOf(request).accountId, id, parseContactKey(contact));
      if (!member) throw (await getListRow(deps.db, principalOf(request).accountId, id)) ? noContact(contact, 'on this list') : listNotFound(id);
      return { meta: metaOf(request), data: member };
    },
  );

  app.patch<{ Params: MemberId; Body: unknown }>(
    '/lists/:id/contacts/:contact',
    {
      schema: { summary: 'Change a member: its contact\'s name and attributes (replaced), its status on this list', tags: ['lists'], params: MemberParams, body: PatchBody, response: { 200: MemberOne, 400: ErrorResponse, 404: ErrorResponse } },
      ...documentedOnly('body'),
    },
    async (request) => {
      const { id, contact } = request.params;
      const key = parseContactKey(contact);
      const member = await patchMember(deps.db, principalOf(request).accountId, id, key, checkPatch(request.body), deps.clock.now());
      if (!member) throw (await getListRow(deps.db, principalOf(request).accountId, id)) ? noContact(contact, 'on this list') : listNotFound(id);
      return { meta: metaOf(request), data: member };
    },
  );

  app.delete<{ Params: MemberId }>(
    '/lists/:id/contacts/:contact',
    { schema: { summary: 'Take a contact off the list (the contact stays, with its other lists)', tags: ['lists'], params: MemberParams, response: { 200: Removed, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const { id, contact } = request.params;
      const { accountId } = principalOf(request);
      const key = parseContactKey(contact);
      const member = await getMember(deps.db, accountId, id, key);
      const [removed] = member ? ((await removeMembers(deps.db, accountId, id, [{ id: member.id }])) ?? [false]) : [false];
      if (!member || !removed) throw (await getListRow(deps.db, accountId, id)) ? noContact(contact, 'on this list') : listNotFound(id);
      return { meta: metaOf(request), data: { id: member.id, email: member.email, removed: true } };
    },
  );

  app.get<{ Params: Static<typeof ContactParams> }>(
    '/contacts/:contact',
    { schema: { summary: 'A contact of the account by id or address: its attributes, every list it is on with its status, its suppression state', tags: ['lists'], params: ContactParams, response: { 200: ContactOne, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const data = await getContact(deps.db, principalOf(request).accountId, parseContactKey(request.params.contact));
      if (!data) throw noContact(request.params.contact, 'in this account');
      return { meta: metaOf(request), data };
    },
  );

  app.delete<{ Params: Static<typeof ContactParams> }>(
    '/contacts/:contact',
    { schema: { summary: 'Erase a contact: it and its memberships of every list are deleted (a suppression entry of its address stays)', tags: ['lists'], params: ContactParams, response: { 200: Erased, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const erased = await eraseContact(deps.db, principalOf(request).accountId, parseContactKey(request.params.contact));
      if (!erased) throw noContact(request.params.contact, 'in this account');
      return { meta: metaOf(request), data: { ...erased, deleted: true } };
    },
  );
}
