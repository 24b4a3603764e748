import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { auditPage, type AuditEntry, type AuditLog } from '../../audit/audit.js';
import type { Database } from '../../db/database.js';
import { csvLines } from '../../reports/exports.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { ErrorResponse, Meta } from '../schemas.js';

const Query = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'the last seq of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: every entry from `after` on, streamed' })),
});
const Entry = Type.Object({
  seq: Type.Integer(), at: Type.String({ format: 'date-time' }), actor: Type.String(), operator: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(), target: Type.Union([Type.String(), Type.Null()]), remoteAddress: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(), status: Type.Union([Type.String(), Type.Null()]), keyId: Type.String(), prevHash: Type.String(), hash: Type.String(),
});
const Page = Type.Object({ meta: Meta, data: Type.Array(Entry), next: Type.Union([Type.Integer(), Type.Null()]) });
const COLUMNS = ['seq', 'at', 'actor', 'operator', 'action', 'target', 'remoteAddress', 'outcome', 'status', 'keyId', 'prevHash', 'hash'] as const;

const cells = (entry: AuditEntry) => COLUMNS.map((column) => entry[column]);

/** GET /audit: the account's audit log (docs/HIPAA.md), oldest first; `mailroom audit verify` checks its chain. */
export function auditRoutes(app: FastifyInstance, deps: { db: Database; audit?: AuditLog | null }): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/audit',
    { schema: { summary: "The account's audit log, oldest first (HIPAA accounts: every API and SMTP action and every operator command on it); CSV with format=csv", tags: ['audit'], querystring: Query, response: { 200: Page, 400: ErrorResponse } } },
    async (request, reply) => {
      const { accountId } = principalOf(request);
      const { after = 0, limit = 100, format = 'json' } = request.query;
      // Sends write their entries beside their messages, to be chained a moment later: a read
      // chains what is waiting first, so that it shows every action answered before it.
      await deps.audit?.chainPending();
      if (format === 'csv') {
        const db = deps.db;
        async function* lines(): AsyncGenerator<string> {
          yield csvLines([COLUMNS]);
          let from = after;
          for (;;) {
            const page = await auditPage(db, accountId, from, 1000);
            if (page.length > 0) yield csvLines(page.map(cells));
            if (page.length < 1000) return;
            from = page.at(-1)!.seq;
          }
        }
        reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="audit.csv"');
        return reply.send(Readable.from(lines()));
      }
      const page = await auditPage(deps.db, accountId, after, limit);
      return { meta: metaOf(request), data: page, next: page.length === limit ? page.at(-1)!.seq : null };
    },
  );
}
