import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Database } from '../../db/database.js';
import { caughtById, listCaught, newestCaughtOfMessage, type CaughtMessage } from '../../delivery/sandbox.js';
import { extractLinks } from '../../linkcheck/extract.js';
import { LinkChecker } from '../../linkcheck/linkCheck.js';
import { mimeView } from '../../sending/content.js';
import { ApiError, validationError } from '../../shared/errors.js';
import { ID_MAX } from '../../shared/storable.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { ListOf, NullableInteger, NullableString, One, PageOf, SERIALIZED_AS_JSON, Timestamp } from '../schemas.js';
import { Content } from './emails.js';
import type { TrackingLinks } from '../../tracking/links.js';
import type { TargetResolver } from '../../webhooks/ssrf.js';

const Envelope = Type.Object({ from: Type.String(), to: Type.Array(Type.String()) });
const CaughtSummary = Type.Object({
  id: Type.Integer({ description: 'the caught copy' }),
  messageId: Type.String({ description: 'the email (msg_...)' }),
  envelope: Envelope,
  subject: Type.String(),
  size: Type.Integer({ description: 'bytes of the MIME message' }),
  receivedAt: Timestamp,
});
const Caught = Type.Object({
  id: Type.Integer(), messageId: Type.String(), envelope: Envelope, subject: Type.String(), receivedAt: Timestamp,
  raw: Type.String({ description: 'the MIME message as delivered' }),
});
const LinkResult = Type.Object({
  url: Type.String(),
  kind: Type.Union([Type.Literal('link'), Type.Literal('image')]),
  text: NullableString("the anchor's text (HTML links)"),
  verdict: Type.Union(['ok', 'broken', 'unreachable', 'refused', 'skipped'].map((verdict) => Type.Literal(verdict))),
  statusCode: NullableInteger(),
  finalUrl: NullableString('where the redirects ended, when there were any'),
  redirects: Type.Integer(),
  trackedTarget: NullableString("the target behind Mailroom's click-tracking URL, which is what was checked"),
  reason: NullableString(),
  durationMs: Type.Integer(),
});

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.Integer({ minimum: 1, maximum: ID_MAX })),
});
const IdParams = Type.Object({
  id: Type.String({
    // Digits, or the 22 letters and digits of a message id: anything else is a mistake (400), not a search.
    pattern: '^(?:[0-9]{1,16}|[0-9a-z]{22})$',
    description: "the caught message's id (a number, as GET /sandbox/messages lists it), or the email's id (as POST /emails answers it): its newest caught copy",
  }),
});

/**
 * The caught message a path names: digits are the catcher's own id; 22 letters and digits are an
 * email's id (src/shared/ids.ts; never digits alone), whose newest copy is shown, so that the id
 * POST /emails answered leads straight to what the sandbox caught. Another account's message is
 * not found either way.
 */
async function caughtOf(db: Database, request: FastifyRequest<{ Params: Static<typeof IdParams> }>): Promise<CaughtMessage> {
  const { id } = request.params;
  const { accountId } = principalOf(request);
  let row: CaughtMessage | undefined;
  if (/^[0-9]+$/.test(id)) {
    const number = Number(id);
    if (number < 1 || number > ID_MAX) throw validationError([{ field: 'id', message: `must be a caught message's id (1 to ${ID_MAX}) or an email's id` }]);
    row = await caughtById(db, accountId, number);
  } else {
    row = await newestCaughtOfMessage(db, accountId, id);
  }
  if (!row) throw new ApiError(404, 'NOT_FOUND', `No caught message with the id ${JSON.stringify(id)} in this account (a caught message's id or an email's id).`);
  return row;
}

/** The sandbox catcher: what the sandbox transport delivered, with the raw MIME. */
export function sandboxRoutes(app: FastifyInstance, deps: { db: Database; targets: TargetResolver; links: TrackingLinks }): void {
  const checker = new LinkChecker(deps.targets, deps.links);
  app.addHook('onClose', async () => checker.close());

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/sandbox/messages',
    { schema: { summary: 'Messages caught by the sandbox transport, newest first', tags: ['sandbox'], querystring: ListQuery, response: { 200: PageOf(CaughtSummary) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const rows = await listCaught(deps.db, principalOf(request).accountId, request.query.cursor ?? null, limit);
      const data = rows.map((row) => ({
        id: row.id,
        messageId: row.message_id,
        envelope: { from: row.envelope_from, to: row.envelope_to },
        subject: row.subject,
        size: row.size,
        receivedAt: row.received_at.toISOString(),
      }));
      const nextCursor = rows.length === limit ? rows.at(-1)!.id : null;
      return { meta: pageMetaOf(request, limit, nextCursor), data };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/sandbox/messages/:id/content',
    { schema: { summary: "One caught message (by its id or its email's id): its HTML and plain-text parts, headers, and attachments' names, types and sizes", tags: ['sandbox'], params: IdParams, response: { 200: One(Content) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const row = await caughtOf(deps.db, request);
      return { meta: metaOf(request), data: await mimeView(row.raw) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/sandbox/messages/:id',
    { schema: { summary: "One caught message with its raw MIME, by its id or its email's id (the newest copy)", tags: ['sandbox'], params: IdParams, response: { 200: One(Caught) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const row = await caughtOf(deps.db, request);
      return {
        meta: metaOf(request),
        data: {
          id: row.id,
          messageId: row.message_id,
          envelope: { from: row.envelope_from, to: row.envelope_to },
          subject: row.subject,
          receivedAt: row.received_at.toISOString(),
          raw: row.raw,
        },
      };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/sandbox/messages/:id/links',
    {
      schema: {
        summary: "Checks each link and image of a caught message: what its target answers (HEAD, else GET; redirects followed; private addresses refused as for webhooks; Mailroom's open and unsubscribe links skipped, a tracked click's target checked)",
        tags: ['sandbox'],
        params: IdParams,
        response: { 200: ListOf(LinkResult) },
      },
      ...SERIALIZED_AS_JSON,
    },
    async (request) => {
      const row = await caughtOf(deps.db, request);
      const view = await mimeView(row.raw);
      const found = extractLinks(view.html, view.text);
      return { meta: metaOf(request), data: await checker.check(found) };
    },
  );
}
