import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  CAMPAIGN_LIMITS, CAMPAIGN_STATES, campaignNotFound, campaignOf, changeState, checkStartable, contactByEmail, createCampaign, deleteCampaign, getCampaignRow,
  ledgerPage, listCampaigns, updateCampaign, type CampaignAction, type CampaignRow,
} from '../../campaigns/campaigns.js';
import { messageFor } from '../../campaigns/content.js';
import type { Database } from '../../db/database.js';
import { parseMailbox } from '../../sending/addresses.js';
import type { SendPipeline } from '../../sending/pipeline.js';
import { campaignReport } from '../../reports/reports.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError } from '../../shared/errors.js';
import { getTemplate } from '../../templates/templates.js';
import { principalOf } from '../auth.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { ErrorResponse, Meta, PageMeta } from '../schemas.js';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer> | ReturnType<typeof Type.Boolean>>(schema: T) => Type.Union([schema, Type.Null()]);
const ListId = Type.String({ minLength: 1, maxLength: 64, description: 'a list id of the account (list_...)' });
const Fields = {
  name: Type.String({ minLength: 1, maxLength: CAMPAIGN_LIMITS.name, description: 'one line' }),
  from: Type.String({ minLength: 1, maxLength: 512, description: 'a verified sender of the account, "addr" or "Name <addr>"' }),
  replyTo: Nullable(Type.String({ minLength: 1, maxLength: 512 })),
  subject: Nullable(Type.String({ minLength: 1, maxLength: 998, description: 'required without templateId; {{placeholders}} are filled per contact' })),
  text: Nullable(Type.String({ minLength: 1, maxLength: 1024 * 1024, description: 'plain-text content, mustache over the contact\'s placeholders (email, name, attributes)' })),
  html: Nullable(Type.String({ minLength: 1, maxLength: 1024 * 1024, description: 'HTML content, mustache (values HTML-escaped)' })),
  templateId: Nullable(Type.String({ minLength: 1, maxLength: 256, description: 'a template of the account instead of inline content; its placeholders come from each contact' })),
  templateVersion: Nullable(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'default: the latest when the campaign starts' })),
  lists: Type.Array(ListId, { minItems: 1, maxItems: CAMPAIGN_LIMITS.lists, description: 'the audience: subscribed members of these lists, each contact once' }),
  excludeLists: Type.Array(ListId, { maxItems: CAMPAIGN_LIMITS.lists, description: 'members of these lists (any status) are left out' }),
  tags: Type.Array(Type.String({ minLength: 1, maxLength: CAMPAIGN_LIMITS.tag }), { maxItems: CAMPAIGN_LIMITS.tags }),
  trackOpens: Nullable(Type.Boolean()),
  trackClicks: Nullable(Type.Boolean()),
  sendAt: Nullable(Type.String({ maxLength: 64, description: 'ISO 8601: start sends it then (state scheduled)' })),
  ratePerMinute: Nullable(Type.Integer({ minimum: 1, maximum: CAMPAIGN_LIMITS.ratePerMinute, description: 'messages per minute; default as fast as the account\'s limits allow' })),
};
const Optional = {
  name: Type.Optional(Fields.name), from: Type.Optional(Fields.from), replyTo: Type.Optional(Fields.replyTo), subject: Type.Optional(Fields.subject),
  text: Type.Optional(Fields.text), html: Type.Optional(Fields.html), templateId: Type.Optional(Fields.templateId),
  templateVersion: Type.Optional(Fields.templateVersion), lists: Type.Optional(Fields.lists), excludeLists: Type.Optional(Fields.excludeLists),
  tags: Type.Optional(Fields.tags), trackOpens: Type.Optional(Fields.trackOpens), trackClicks: Type.Optional(Fields.trackClicks),
  sendAt: Type.Optional(Fields.sendAt), ratePerMinute: Type.Optional(Fields.ratePerMinute),
};
const CreateBody = Type.Object({ ...Optional, name: Fields.name, from: Fields.from, lists: Fields.lists }, { additionalProperties: false });
const PatchBody = Type.Object(Optional, { additionalProperties: false, minProperties: 1, description: 'the fields to change (draft or scheduled only); null clears a field' });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'the campaign id (cmp_...)' }) });
const ActionParams = Type.Object({ id: IdParams.properties.id, action: Type.Union([Type.Literal('start'), Type.Literal('pause'), Type.Literal('resume'), Type.Literal('cancel')]) });
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
  state: Type.Optional(Type.Union(CAMPAIGN_STATES.map((state) => Type.Literal(state)))),
});
const TestBody = Type.Object({
  to: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 10, description: 'addresses; a contact of the account with the address gives its placeholders' }),
}, { additionalProperties: false });
const RecipientsQuery = Type.Object({
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$', description: 'nextCursor of the previous page' })),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'the last contactId of the previous page (as cursor; cursor is preferred)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

const Timestamp = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Timestamp, Type.Null()]);
const CampaignData = Type.Object({
  id: Type.String({ description: 'cmp_...; the campaignId of its messages and reports' }),
  name: Type.String(), from: Type.String(), replyTo: Type.Union([Type.String(), Type.Null()]), subject: Type.Union([Type.String(), Type.Null()]),
  text: Type.Union([Type.String(), Type.Null()]), html: Type.Union([Type.String(), Type.Null()]), templateId: Type.Union([Type.String(), Type.Null()]),
  templateVersion: Type.Union([Type.Integer(), Type.Null()]), lists: Type.Array(Type.String()), excludeLists: Type.Array(Type.String()), tags: Type.Array(Type.String()),
  type: Type.Literal('marketing'), trackOpens: Type.Union([Type.Boolean(), Type.Null()]), trackClicks: Type.Union([Type.Boolean(), Type.Null()]),
  sendAt: NullableTime, ratePerMinute: Type.Union([Type.Integer(), Type.Null()]),
  state: Type.Union(CAMPAIGN_STATES.map((state) => Type.Literal(state))),
  counts: Type.Object({
    total: Type.Union([Type.Integer(), Type.Null()], { description: 'the audience when it started, suppressed contacts included; on finish, the contacts processed' }),
    processed: Type.Integer(), queued: Type.Integer(), rejected: Type.Integer({ description: 'suppressed: stored REJECTED, not sent' }),
    refused: Type.Integer({ description: 'refused by the pipeline for that recipient (role address, missing placeholder...): no message' }),
    remaining: Type.Union([Type.Integer(), Type.Null()]),
  }),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()], { description: 'why it paused itself' }),
  createdAt: Timestamp, updatedAt: Timestamp, startedAt: NullableTime, finishedAt: NullableTime,
});
const Detail = Type.Object({
  meta: Meta,
  data: Type.Object({
    ...CampaignData.properties,
    report: Type.Union([Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])), Type.Null()], {
      description: 'the delivery and engagement counts of its messages so far (GET /campaigns/{id}/report has them all)',
    }),
  }),
});
const One = Type.Object({ meta: Meta, data: CampaignData });
const Page = Type.Object({ meta: PageMeta, data: Type.Array(CampaignData) });
const Deleted = Type.Object({ meta: Meta, data: Type.Object({ id: Type.String(), name: Type.String(), recipients: Type.Integer({ description: 'ledger rows removed (its messages stay)' }), deleted: Type.Boolean() }) });
const TestResults = Type.Object({
  meta: Meta,
  data: Type.Array(Type.Object({
    to: Type.String(), id: Type.Optional(Type.String()), status: Type.Optional(Type.String()),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  })),
});
const Recipients = Type.Object({
  meta: PageMeta,
  data: Type.Array(Type.Object({
    contactId: Type.Integer(), email: Type.Union([Type.String(), Type.Null()]), outcome: Type.String(), refusal: Type.Union([Type.String(), Type.Null()]),
    messageId: Type.Union([Type.String(), Type.Null()]), status: Type.Union([Type.String(), Type.Null()]), at: Timestamp,
  })),
});
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse };

type Id = Static<typeof IdParams>;

export interface CampaignRouteDeps {
  db: Database;
  clock: Clock;
  pipeline: SendPipeline;
  /** This process's feeder, when it has the worker role: told at once of a campaign to feed. */
  onStarted: () => void;
}

/** Campaigns (docs/CAMPAIGNS.md): definitions and state changes; the feeder (worker role) sends them. Reports are in reports.ts. */
export function campaignRoutes(app: FastifyInstance, deps: CampaignRouteDeps): void {
  const { db, clock } = deps;
  const load = async (accountId: number, id: string): Promise<CampaignRow> => {
    const row = await getCampaignRow(db, accountId, id);
    if (!row) throw campaignNotFound(id);
    return row;
  };

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/campaigns',
    { schema: { summary: 'Create a campaign (a draft)', tags: ['campaigns'], body: CreateBody, response: { 201: One, ...errors } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const data = await createCampaign(db, principal.accountId, principal.operatorId, request.body, clock.now());
      return reply.code(201).send({ meta: metaOf(request), data });
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/campaigns',
    { schema: { summary: 'Campaigns, newest first', tags: ['campaigns'], querystring: ListQuery, response: { 200: Page, 400: ErrorResponse } } },
    async (request) => {
      const { limit = 50, cursor, state } = request.query;
      const page = await listCampaigns(db, principalOf(request).accountId, { limit, ...(cursor !== undefined ? { cursor } : {}), ...(state ? { state } : {}) });
      return { meta: pageMetaOf(request, limit, page.nextCursor), data: page.items };
    },
  );

  app.get<{ Params: Id }>(
    '/campaigns/:id',
    { schema: { summary: 'A campaign, its state and counts', tags: ['campaigns'], params: IdParams, response: { 200: Detail, 404: ErrorResponse } } },
    async (request) => {
      const accountId = principalOf(request).accountId;
      const campaign = campaignOf(await load(accountId, request.params.id));
      const report = await campaignReport(db, accountId, campaign.id, 0);
      return { meta: metaOf(request), data: { ...campaign, report: report ? { ...report.counts } : null } };
    },
  );

  app.patch<{ Params: Id; Body: Static<typeof PatchBody> }>(
    '/campaigns/:id',
    { schema: { summary: 'Edit a draft or scheduled campaign', tags: ['campaigns'], params: IdParams, body: PatchBody, response: { 200: One, ...errors } } },
    async (request) => {
      const data = await updateCampaign(db, principalOf(request).accountId, request.params.id, request.body, clock.now());
      if (!data) throw campaignNotFound(request.params.id);
      return { meta: metaOf(request), data };
    },
  );

  app.delete<{ Params: Id }>(
    '/campaigns/:id',
    { schema: { summary: 'Delete a draft, finished or canceled campaign and its ledger (its messages and reports stay)', tags: ['campaigns'], params: IdParams, response: { 200: Deleted, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => {
      const deleted = await deleteCampaign(db, principalOf(request).accountId, request.params.id);
      if (!deleted) throw campaignNotFound(request.params.id);
      return { meta: metaOf(request), data: { ...deleted, deleted: true } };
    },
  );

  app.post<{ Params: Static<typeof ActionParams> }>(
    '/campaigns/:id/:action',
    {
      schema: {
        summary: 'start (a draft: scheduled when sendAt is ahead, else running; the audience is fixed then), pause, resume or cancel',
        tags: ['campaigns'], params: ActionParams, response: { 200: One, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const row = await load(principal.accountId, request.params.id);
      const action = request.params.action as CampaignAction;
      let pinned: number | null = null;
      if (action === 'start' || action === 'resume') {
        // What would refuse every message is refused now, with its own code, not per contact later.
        const from = parseMailbox(row.from_address);
        await deps.pipeline.checkEnvelopeSender(principal, typeof from === 'string' ? row.from_address : from.address);
        if (action === 'start') {
          await checkStartable(db, principal.accountId, row);
          if (row.template_id !== null) pinned = await pinTemplate(db, principal.accountId, row);
        }
      }
      const data = await changeState(db, row, action, clock.now(), pinned);
      if (data.state === 'running') deps.onStarted();
      return { meta: metaOf(request), data };
    },
  );

  app.post<{ Params: Id; Body: Static<typeof TestBody> }>(
    '/campaigns/:id/test',
    { schema: { summary: 'Send the campaign to up to 10 addresses as a test (not counted, no campaignId); one result per address', tags: ['campaigns'], params: IdParams, body: TestBody, response: { 200: TestResults, ...errors } } },
    async (request) => {
      const principal = principalOf(request);
      const campaign = campaignOf(await load(principal.accountId, request.params.id));
      const results = [];
      for (const to of request.body.to) {
        const parsed = parseMailbox(to);
        const email = typeof parsed === 'string' ? to : parsed.address;
        const contact = typeof parsed === 'string' ? null : await contactByEmail(db, principal.accountId, email);
        const recipient = contact ?? { email, name: null, attributes: {} };
        try {
          const sent = await deps.pipeline.send(
            { principal, meta: metaOf(request), unsubscribeMsg: null, idempotencyKey: null },
            { ...messageFor(campaign, recipient, { counted: false }), tags: [...campaign.tags, 'campaign-test'].slice(0, 20) },
          );
          const data = (sent.body as { data: { id: string; status: string } }).data;
          results.push({ to, id: data.id, status: data.status });
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          results.push({ to, error: { code: error.code, message: error.message } });
        }
      }
      return { meta: metaOf(request), data: results };
    },
  );

  app.get<{ Params: Id; Querystring: Static<typeof RecipientsQuery> }>(
    '/campaigns/:id/recipients',
    { schema: { summary: 'The ledger: each contact the campaign has handled, in contact order, with its message and its status', tags: ['campaigns'], params: IdParams, querystring: RecipientsQuery, response: { 200: Recipients, 404: ErrorResponse } } },
    async (request) => {
      const accountId = principalOf(request).accountId;
      const row = await load(accountId, request.params.id);
      const limit = request.query.limit ?? 100;
      const after = request.query.cursor !== undefined ? Number(request.query.cursor) : request.query.after ?? 0;
      const entries = await ledgerPage(db, accountId, Number(row.seq), after, limit);
      return { meta: pageMetaOf(request, limit, entries.length === limit ? entries.at(-1)!.contactId : null), data: entries };
    },
  );
}

/** The template version a campaign sends: the one it names, or the latest when it starts. */
async function pinTemplate(db: Database, accountId: number, row: CampaignRow): Promise<number> {
  const template = await getTemplate(db, accountId, row.template_id!, row.template_version ?? undefined);
  if (!template) {
    throw new ApiError(422, 'TEMPLATE_NOT_FOUND', `This account has no template ${JSON.stringify(row.template_id)}${row.template_version === null ? '' : ` with version ${row.template_version}`}.`, [
      { field: row.template_version === null ? 'templateId' : 'templateVersion', message: 'names no template of this account' },
    ]);
  }
  return template.version;
}
