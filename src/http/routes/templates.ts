import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { INT32_MAX } from '../../shared/storable.js';
import { renderTemplate } from '../../templates/render.js';
import {
  createTemplate, deleteTemplate, draftVersion, getTemplate, isValidNameCursor, LIMITS, listTemplates, listVersions, toTemplateVersion, updateTemplate,
} from '../../templates/templates.js';
import { principalOf } from '../auth.js';
import type { Principal } from '../../accounts/apiKeys.js';
import { refuseForHipaa } from '../../hipaa/features.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { noBodyIsEmptyObject } from '../jsonBodies.js';
import { ErrorResponse, Meta, PageMeta } from '../schemas.js';

const Name = Type.String({
  minLength: 1, maxLength: LIMITS.nameLength, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'unique in the account: letters, digits, ".", "_" and "-", not starting with "tmpl_"; usable instead of the id',
});
const Subject = Type.String({ minLength: 1, maxLength: LIMITS.subject, description: 'the subject line, with {{placeholders}}; never HTML-escaped' });
const Text = Type.String({ minLength: 1, maxLength: LIMITS.bodyBytes, description: 'the plain-text part (at most 1 MB), with {{placeholders}}; never HTML-escaped' });
const Html = Type.String({ minLength: 1, maxLength: LIMITS.bodyBytes, description: 'the HTML part (at most 1 MB): {{name}} is HTML-escaped, {{{name}}} inserted as it is' });
const Defaults = Type.Record(Type.String(), Type.Unknown({ description: 'a string, number or boolean' }), {
  maxProperties: LIMITS.defaults, description: 'default placeholder values (at most 200); a recipient\'s placeholders override them',
});
const Content = { subject: Subject, text: Type.Optional(Text), html: Type.Optional(Html), defaults: Type.Optional(Defaults) };
const CreateBody = Type.Object({ name: Name, ...Content }, { additionalProperties: false, description: 'subject and at least one of text and html' });
const UpdateBody = Type.Object({ name: Type.Optional(Name), ...Content }, { additionalProperties: false, description: 'the whole content of the new version; name renames the template' });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: LIMITS.nameLength, description: 'the template id (tmpl_...) or its name' }) });
const VersionParams = Type.Object({ id: IdParams.properties.id, version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
});
const VersionsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.Integer({ minimum: 1, maximum: INT32_MAX, description: 'nextCursor of the previous page (a version number)' })),
});
const PreviewBody = Type.Object({
  placeholders: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'name: value (string, number or boolean), over the template\'s defaults' })),
  version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'default: the latest' })),
}, { additionalProperties: false });

const DraftPreviewBody = Type.Object({
  ...Content,
  placeholders: PreviewBody.properties.placeholders,
}, { additionalProperties: false, description: 'the content of a template as a create takes it (nothing is stored), and the values to render it with' });

const Nullable = (description: string) => Type.Union([Type.String(), Type.Null()], { description });
const Timestamp = Type.String({ format: 'date-time' });
const TemplateData = Type.Object({
  id: Type.String({ description: 'tmpl_...' }),
  name: Type.String(),
  version: Type.Integer({ description: 'the version shown' }),
  latestVersion: Type.Integer(),
  subject: Type.String(),
  text: Nullable('null when the template has only HTML'),
  html: Nullable('null when the template has only text'),
  defaults: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  versionCreatedAt: Timestamp,
});
const One = Type.Object({ meta: Meta, data: TemplateData });
const ListResponse = Type.Object({
  meta: PageMeta,
  data: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), version: Type.Integer(), subject: Type.String(), createdAt: Timestamp, updatedAt: Timestamp })),
});
const VersionsResponse = Type.Object({
  meta: PageMeta,
  data: Type.Array(Type.Object({ version: Type.Integer(), subject: Type.String(), hasText: Type.Boolean(), hasHtml: Type.Boolean(), createdAt: Timestamp })),
});
const Rendered = Type.Object({ meta: Meta, data: Type.Object({ subject: Type.String(), text: Nullable('the rendered text part'), html: Nullable('the rendered HTML part') }) });
const Deleted = Type.Object({ meta: Meta, data: Type.Object({ id: Type.String(), name: Type.String(), deleted: Type.Boolean() }) });

type Id = Static<typeof IdParams>;

function notFound(idOrName: string, version?: number): ApiError {
  const which = version === undefined ? '' : ` with a version ${version}`;
  return new ApiError(404, 'NOT_FOUND', `No template ${JSON.stringify(idOrName)}${which} in this account.`);
}

/**
 * Message templates (SPEC section 9). A send names one with `templateId` (id or name) and gives
 * its `placeholders`; these routes manage them, and preview renders one as a send would.
 */
export function templateRoutes(app: FastifyInstance, deps: { db: Database; clock: Clock }): void {
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/templates',
    { schema: { summary: 'Create a template (version 1); 409 when the name is taken', tags: ['templates'], body: CreateBody, response: { 201: One, 400: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => {
      refuseDefaults(principalOf(request), request.body.defaults);
      const data = await createTemplate(deps.db, principalOf(request).accountId, request.body, deps.clock.now());
      return reply.code(201).send({ meta: metaOf(request), data });
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/templates',
    { schema: { summary: 'List the templates by name (latest version, without bodies)', tags: ['templates'], querystring: ListQuery, response: { 200: ListResponse, 400: ErrorResponse } } },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      if (cursor !== undefined && !isValidNameCursor(cursor)) throw validationError([{ field: 'cursor', message: 'is not a cursor this API returned' }]);
      const page = await listTemplates(deps.db, principalOf(request).accountId, { limit, ...(cursor === undefined ? {} : { cursor }) });
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.data };
    },
  );

  app.get<{ Params: Id }>(
    '/templates/:id',
    { schema: { summary: 'A template, by id or name, at its latest version', tags: ['templates'], params: IdParams, response: { 200: One, 404: ErrorResponse } } },
    async (request) => {
      const data = await getTemplate(deps.db, principalOf(request).accountId, request.params.id);
      if (!data) throw notFound(request.params.id);
      return { meta: metaOf(request), data };
    },
  );

  app.put<{ Params: Id; Body: Static<typeof UpdateBody> }>(
    '/templates/:id',
    { schema: { summary: 'Write a new version with the whole content; earlier versions are kept', tags: ['templates'], params: IdParams, body: UpdateBody, response: { 200: One, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => {
      refuseDefaults(principalOf(request), request.body.defaults);
      const data = await updateTemplate(deps.db, principalOf(request).accountId, request.params.id, request.body, deps.clock.now());
      if (!data) throw notFound(request.params.id);
      return { meta: metaOf(request), data };
    },
  );

  app.delete<{ Params: Id }>(
    '/templates/:id',
    { schema: { summary: 'Delete a template and all its versions (messages already sent keep their content)', tags: ['templates'], params: IdParams, response: { 200: Deleted, 404: ErrorResponse } } },
    async (request) => {
      const deleted = await deleteTemplate(deps.db, principalOf(request).accountId, request.params.id);
      if (!deleted) throw notFound(request.params.id);
      return { meta: metaOf(request), data: { ...deleted, deleted: true } };
    },
  );

  app.get<{ Params: Id; Querystring: Static<typeof VersionsQuery> }>(
    '/templates/:id/versions',
    { schema: { summary: 'The versions of a template, newest first (without bodies)', tags: ['templates'], params: IdParams, querystring: VersionsQuery, response: { 200: VersionsResponse, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await listVersions(deps.db, principalOf(request).accountId, request.params.id, { limit, ...(cursor === undefined ? {} : { before: cursor }) });
      if (!page) throw notFound(request.params.id);
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.data };
    },
  );

  app.get<{ Params: Static<typeof VersionParams> }>(
    '/templates/:id/versions/:version',
    { schema: { summary: 'One version of a template, with its content', tags: ['templates'], params: VersionParams, response: { 200: One, 404: ErrorResponse } } },
    async (request) => {
      const { id, version } = request.params;
      const data = await getTemplate(deps.db, principalOf(request).accountId, id, version);
      if (!data) throw notFound(id, version);
      return { meta: metaOf(request), data };
    },
  );

  app.post<{ Body: Static<typeof DraftPreviewBody> }>(
    '/templates/preview',
    {
      schema: {
        summary: 'Render unsaved template content as a send would (an editor\'s live preview); nothing is stored. 400 as a create for content, 422 PLACEHOLDER_MISSING as a preview',
        tags: ['templates'], body: DraftPreviewBody,
        response: { 200: Rendered, 400: ErrorResponse, 422: ErrorResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      refuseForHipaa(principal, 'Template preview', 'a rendered preview would show recipient data outside a message');
      const { placeholders, ...content } = request.body;
      return { meta: metaOf(request), data: renderTemplate(draftVersion(principal.accountId, content), placeholders) };
    },
  );

  app.post<{ Params: Id; Body: Static<typeof PreviewBody> }>(
    '/templates/:id/preview',
    {
      schema: {
        summary: 'Render a template as a send would: 422 PLACEHOLDER_MISSING names every placeholder with no value and no default',
        tags: ['templates'], params: IdParams, body: PreviewBody,
        response: { 200: Rendered, 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse },
      },
      // An empty POST previews with the defaults alone; the body schema would refuse a missing body.
      preValidation: noBodyIsEmptyObject,
    },
    async (request) => {
      refuseForHipaa(principalOf(request), 'Template preview', 'a rendered preview would show recipient data outside a message');
      const { version, placeholders } = request.body;
      const template = await getTemplate(deps.db, principalOf(request).accountId, request.params.id, version);
      if (!template) throw notFound(request.params.id, version);
      return { meta: metaOf(request), data: renderTemplate(toTemplateVersion(template), placeholders) };
    },
  );
}

/** Seed 000: PHI only in recipient-level placeholders, so a HIPAA account's templates have no defaults. */
function refuseDefaults(principal: Principal, defaults: Record<string, unknown> | undefined): void {
  if (defaults && Object.keys(defaults).length > 0) {
    refuseForHipaa(principal, 'Default placeholder values', 'PHI may only be in recipient-level placeholders', [{ field: 'defaults', message: 'must be empty for a HIPAA account' }]);
  }
}
