import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { caughtById, listCaught } from '../../delivery/sandbox.js';
import { extractLinks } from '../../linkcheck/extract.js';
import { LinkChecker } from '../../linkcheck/linkCheck.js';
import { mimeView } from '../../sending/content.js';
import { ApiError } from '../../shared/errors.js';
import { ID_MAX } from '../../shared/storable.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import type { TrackingLinks } from '../../tracking/links.js';
import type { TargetResolver } from '../../webhooks/ssrf.js';

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.Integer({ minimum: 1, maximum: ID_MAX })),
});
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: ID_MAX }) });

/** The sandbox catcher: what the sandbox transport delivered, with the raw MIME. */
export function sandboxRoutes(app: FastifyInstance, deps: { db: Database; targets: TargetResolver; links: TrackingLinks }): void {
  const checker = new LinkChecker(deps.targets, deps.links);
  app.addHook('onClose', async () => checker.close());

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/sandbox/messages',
    { schema: { summary: 'Messages caught by the sandbox transport, newest first', tags: ['sandbox'], querystring: ListQuery } },
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
      return { meta: { ...metaOf(request), pagination: { limit, nextCursor } }, data };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/sandbox/messages/:id/content',
    { schema: { summary: "One caught message's HTML and plain-text parts, headers, and attachments' names, types and sizes", tags: ['sandbox'], params: IdParams } },
    async (request) => {
      const row = await caughtById(deps.db, principalOf(request).accountId, request.params.id);
      if (!row) throw new ApiError(404, 'NOT_FOUND', 'No caught message with this id.');
      return { meta: metaOf(request), data: await mimeView(row.raw) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/sandbox/messages/:id',
    { schema: { summary: 'One caught message with its raw MIME', tags: ['sandbox'], params: IdParams } },
    async (request) => {
      const row = await caughtById(deps.db, principalOf(request).accountId, request.params.id);
      if (!row) throw new ApiError(404, 'NOT_FOUND', 'No caught message with this id.');
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
      },
    },
    async (request) => {
      const row = await caughtById(deps.db, principalOf(request).accountId, request.params.id);
      if (!row) throw new ApiError(404, 'NOT_FOUND', 'No caught message with this id.');
      const view = await mimeView(row.raw);
      const found = extractLinks(view.html, view.text);
      return { meta: metaOf(request), data: await checker.check(found) };
    },
  );
}
