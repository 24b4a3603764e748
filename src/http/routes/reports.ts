import { Readable } from 'node:stream';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Database } from '../../db/database.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError, validationError, type ErrorDetail } from '../../shared/errors.js';
import { isStorableText } from '../../shared/storable.js';
import { COUNT_HEADERS, countCells, FIELDS, RATE_NAMES, type Counts } from '../../reports/counters.js';
import { csvLines, RECIPIENT_EVENTS, recipientCsv, type RecipientEvent } from '../../reports/exports.js';
import { EARLIEST, floorDay, floorHour, LATEST, parseTime, seriesLength, bucketLabel } from '../../reports/ranges.js';
import {
  campaignExists, campaignReport, GROUP_BYS, linksPage, needsWholeDays, readReport, readSeries, reportPlan, seriesPlan, type Filters, type GroupBy, type Interval, type ReportPage,
} from '../../reports/reports.js';
import { principalOf } from '../auth.js';
import { refuseForHipaa } from '../../hipaa/features.js';
import { metaOf, pageMetaOf } from '../errors.js';
import { Csv, ErrorResponse, Meta, PageMeta } from '../schemas.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The longest series one request may ask for (a year and more of hours, 27 years of days). */
const MAX_POINTS = 10_000;
/** Rows read per query while a CSV is streamed. */
const CSV_PAGE = 1_000;

const Time = (what: string) => Type.String({ maxLength: 40, description: `${what}: ISO 8601, a date (UTC midnight) or a date and time with its zone (Z or +hh:mm); an hour counts when its start is in [from, to)` });
const CampaignId = Type.String({ minLength: 1, maxLength: 256, description: 'a campaign id as the messages carry it (campaignId)' });
const Tag = Type.String({ minLength: 1, maxLength: 64, description: 'a tag of the messages' });
const Format = Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json', description: 'json (default) or csv (every row, streamed; the cells of the JSON rows as columns)' });

const ReportQuery = Type.Object({
  groupBy: Type.Union(GROUP_BYS.map((value) => Type.Literal(value)), { description: 'the rows: one per campaign, externalId, clientId, tag, recipient domain, UTC day or hour' }),
  from: Type.Optional(Time('start (inclusive); default: the beginning')),
  to: Type.Optional(Time('end (exclusive); default: no end')),
  campaignId: Type.Optional(CampaignId),
  tag: Type.Optional(Tag),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'rows per page (JSON)' })),
  cursor: Type.Optional(Type.String({ maxLength: 1400, description: 'nextCursor of the previous page' })),
  format: Type.Optional(Format),
});
const SeriesQuery = Type.Object({
  interval: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' })),
  campaignId: Type.Optional(CampaignId),
  tag: Type.Optional(Tag),
  from: Type.Optional(Time('start (inclusive); default: 30 days (48 hours for interval=hour) before to')),
  to: Type.Optional(Time('end (exclusive); default: the end of the current hour')),
  format: Type.Optional(Format),
});
const CampaignParams = Type.Object({ id: CampaignId });
const CampaignQuery = Type.Object({
  links: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 100, description: 'how many of the most clicked links to list' })),
  format: Type.Optional(Format),
});
const LinksQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'the most clicked links (JSON); the CSV has every link' })),
  format: Type.Optional(Format),
});
const RecipientsQuery = Type.Object({
  event: Type.Union(RECIPIENT_EVENTS.map((value) => Type.Literal(value)), { description: 'who received (delivered), opened, clicked (a row per link), bounced (a row per bounce, with its reason), unsubscribed or complained' }),
});

const Rate = Type.Union([Type.Number(), Type.Null()]);
const CountsSchema = {
  ...Object.fromEntries(FIELDS.map((name) => [name, Type.Integer()])),
  ...Object.fromEntries(RATE_NAMES.map((name) => [name, Rate])),
} as Record<string, TSchema>;
const Row = Type.Object({ key: Type.String({ description: 'the group: its id, tag or domain; the day (YYYY-MM-DD) or the hour (ISO 8601)' }), ...CountsSchema });
const ReportResponse = Type.Object({ meta: PageMeta, data: Type.Array(Row) });
const Point = Type.Object({ time: Type.String({ description: 'the bucket: a day (YYYY-MM-DD) or an hour (ISO 8601)' }), ...CountsSchema });
const SeriesResponse = Type.Object({
  meta: Meta,
  data: Type.Object({ interval: Type.String(), from: Type.String(), to: Type.String(), campaignId: Type.Union([Type.String(), Type.Null()]), tag: Type.Union([Type.String(), Type.Null()]), points: Type.Array(Point) }),
});
const Link = Type.Object({ url: Type.String(), clicked: Type.Integer(), clickedUnique: Type.Integer(), clickedMachine: Type.Integer() });
const CampaignResponse = Type.Object({
  meta: Meta,
  data: Type.Object({ campaignId: Type.String(), ...CountsSchema, links: Type.Array(Link), linkCount: Type.Integer() }),
});
const LinksResponse = Type.Object({ meta: Meta, data: Type.Array(Link), linkCount: Type.Integer() });

const LINK_HEADERS = ['url', 'clicked', 'clickedUnique', 'clickedMachine'];

function countsJson(counts: Counts): Record<string, number | null> {
  return { ...counts };
}

/** `from`/`to` as times, with their defaults; a 400 naming the field when one is not a time. */
function timeRange(query: { from?: string | undefined; to?: string | undefined }, defaults: { from: (to: number) => number; to: number }): { from: number; to: number } {
  const details: ErrorDetail[] = [];
  const parse = (field: 'from' | 'to') => {
    const value = query[field];
    if (value === undefined) return undefined;
    const time = parseTime(value);
    if (time === null) details.push({ field, message: 'is not an ISO 8601 date, or date and time with a zone, from 1970 to 9999' });
    return time ?? undefined;
  };
  const given = { from: parse('from'), to: parse('to') };
  if (details.length > 0) throw validationError(details);
  const to = given.to ?? defaults.to;
  const from = given.from ?? defaults.from(to);
  if (from >= to) throw validationError([{ field: 'to', message: 'must be later than from' }]);
  return { from, to };
}

/** Cursors are opaque: base64url of "k<key>" (a group's key) or "t<time>" (a bucket's start). */
function encodeCursor(next: ReportPage['next']): string | null {
  if (next === null) return null;
  return Buffer.from('key' in next ? `k${next.key}` : `t${next.time}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, series: boolean): ReportPage['next'] {
  const refuse = () => validationError([{ field: 'cursor', message: 'is not a cursor this API returned for this report' }]);
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw refuse();
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  // Round trip: bytes that are not UTF-8 (U+FFFD on the way back) are no cursor of ours.
  if (Buffer.from(decoded, 'utf8').toString('base64url') !== cursor || !isStorableText(decoded)) throw refuse();
  if (series) {
    if (!/^t\d{1,15}$/.test(decoded)) throw refuse();
    const time = Number(decoded.slice(1));
    if (time > LATEST) throw refuse();
    return { time };
  }
  if (!decoded.startsWith('k')) throw refuse();
  return { key: decoded.slice(1) };
}

function csvReply(reply: FastifyReply, filename: string, body: AsyncIterable<string> | string): FastifyReply {
  reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`);
  if (typeof body === 'string') return reply.send(body);
  // Once the status is sent, a failure can only cut the file short: the client sees a broken
  // transfer (no final chunk), and the log says why.
  const stream = Readable.from(body);
  stream.on('error', (error) => reply.log.error({ err: error }, 'reports: a CSV export failed while streaming'));
  return reply.send(stream);
}

function filtersOf(query: Filters): Filters {
  return { ...(query.campaignId !== undefined ? { campaignId: query.campaignId } : {}), ...(query.tag !== undefined ? { tag: query.tag } : {}) };
}

/**
 * Reports (docs/REPORTS.md): counts from the rollups the report consumer keeps from the event log
 * (src/reports/), never a scan of the events. Campaigns are any `campaignId` the messages carry;
 * these routes claim only the report paths under /campaigns/{id}, not /campaigns/{id} itself.
 */
export function reportRoutes(app: FastifyInstance, deps: { db: Database; clock: Clock }): void {
  app.get<{ Querystring: Static<typeof ReportQuery> }>(
    '/reports',
    {
      schema: {
        summary: 'Counts and rates per campaign, externalId, clientId, tag, recipient domain, day or hour, over a time range; campaignId and tag filter where a combined rollup exists (docs/REPORTS.md), else 400',
        tags: ['reports'], querystring: ReportQuery, response: { 200: ReportResponse, 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { groupBy, limit = 100, cursor, format = 'json' } = request.query;
      const filters = filtersOf(request.query);
      const planned = reportPlan(groupBy as GroupBy, filters);
      if (!('kind' in planned)) throw validationError([planned], `${planned.field} ${planned.message}.`);
      const plan = planned;
      const range = timeRange(request.query, { from: () => EARLIEST, to: LATEST });
      if (needsWholeDays(plan)) {
        const partial = (['from', 'to'] as const).filter((field) => range[field] % DAY !== 0);
        if (partial.length > 0) {
          throw validationError(partial.map((field) => ({ field, message: `must be a whole UTC day (a date, or midnight Z) for this report: it is kept per day` })));
        }
      }
      let after = cursor === undefined ? null : decodeCursor(cursor, plan.kind === 'series');
      const { accountId } = principalOf(request);
      if (format === 'json') {
        const page = await readReport(deps.db, accountId, plan, range, limit, after);
        return { meta: pageMetaOf(request, limit, encodeCursor(page.next)), data: page.rows.map((row) => ({ key: row.key, ...countsJson(row.counts) })) };
      }
      const first = await readReport(deps.db, accountId, plan, range, CSV_PAGE, after);
      const db = deps.db;
      async function* rows(): AsyncGenerator<string> {
        yield csvLines([[groupBy, ...COUNT_HEADERS]]);
        let page = first;
        for (;;) {
          yield csvLines(page.rows.map((row) => [row.key, ...countCells(row.counts)]));
          if (page.next === null) return;
          after = page.next;
          page = await readReport(db, accountId, plan, range, CSV_PAGE, after);
        }
      }
      return csvReply(reply, `report-${groupBy}.csv`, rows());
    },
  );

  app.get<{ Querystring: Static<typeof SeriesQuery> }>(
    '/reports/timeseries',
    {
      schema: {
        summary: 'A time series (every hour or UTC day of the range, zeros included) of the account, a campaign (campaignId), a tag, or both',
        tags: ['reports'], querystring: SeriesQuery, response: { 200: SeriesResponse, 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      const interval = (request.query.interval ?? 'day') as Interval;
      const filters = filtersOf(request.query);
      const now = deps.clock.now().getTime();
      const range = timeRange(request.query, {
        to: Math.min(LATEST, floorHour(now) + HOUR),
        from: (to) => Math.max(EARLIEST, interval === 'hour' ? to - 48 * HOUR : floorDay(to - HOUR) - 29 * DAY),
      });
      const points = seriesLength(range.from, range.to, interval);
      if (points > MAX_POINTS) throw validationError([{ field: 'from', message: `makes ${points} points of interval=${interval}; at most ${MAX_POINTS}` }]);
      const plan = seriesPlan(filters, interval) as Extract<ReturnType<typeof seriesPlan>, { kind: 'series' }>;
      const series = await readSeries(deps.db, principalOf(request).accountId, plan, range);
      const labelled = series.map((point) => ({ time: bucketLabel(point.time, interval), counts: point.counts }));
      if (request.query.format === 'csv') {
        const lines = csvLines([[interval, ...COUNT_HEADERS], ...labelled.map((point) => [point.time, ...countCells(point.counts)])]);
        return csvReply(reply, `timeseries-${interval}.csv`, lines);
      }
      return {
        meta: metaOf(request),
        data: {
          interval, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(),
          campaignId: filters.campaignId ?? null, tag: filters.tag ?? null,
          points: labelled.map((point) => ({ time: point.time, ...countsJson(point.counts) })),
        },
      };
    },
  );

  app.get<{ Params: Static<typeof CampaignParams>; Querystring: Static<typeof CampaignQuery> }>(
    '/campaigns/:id/report',
    {
      schema: {
        summary: "A campaign's counts and rates over all time, with its most clicked links; 404 when neither a message nor a campaign of the account has this id",
        tags: ['reports'], params: CampaignParams, querystring: CampaignQuery, response: { 200: CampaignResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const report = await campaignReport(deps.db, principalOf(request).accountId, id, request.query.links ?? 100);
      if (!report) throw noCampaign(id);
      if (request.query.format === 'csv') {
        return csvReply(reply, 'campaign-report.csv', csvLines([['campaignId', ...COUNT_HEADERS], [id, ...countCells(report.counts)]]));
      }
      return { meta: metaOf(request), data: { campaignId: id, ...countsJson(report.counts), links: report.links, linkCount: report.linkCount } };
    },
  );

  app.get<{ Params: Static<typeof CampaignParams>; Querystring: Static<typeof LinksQuery> }>(
    '/campaigns/:id/links',
    {
      schema: {
        summary: "A campaign's clicks per link: the most clicked (JSON), or every link (CSV)",
        tags: ['reports'], params: CampaignParams, querystring: LinksQuery, response: { 200: LinksResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { accountId } = principalOf(request);
      if (request.query.format !== 'csv') {
        const report = await campaignReport(deps.db, accountId, id, request.query.limit ?? 100);
        if (!report) throw noCampaign(id);
        return { meta: metaOf(request), data: report.links, linkCount: report.linkCount };
      }
      if (!(await campaignExists(deps.db, accountId, id))) throw noCampaign(id);
      const db = deps.db;
      async function* rows(): AsyncGenerator<string> {
        yield csvLines([LINK_HEADERS]);
        let after = '';
        for (;;) {
          const page = await linksPage(db, accountId, id, after, CSV_PAGE);
          yield csvLines(page.links.map((link) => [link.url, link.clicked, link.clickedUnique, link.clickedMachine]));
          if (page.last === null) return;
          after = page.last;
        }
      }
      return csvReply(reply, 'campaign-links.csv', rows());
    },
  );

  app.get<{ Params: Static<typeof CampaignParams>; Querystring: Static<typeof RecipientsQuery> }>(
    '/campaigns/:id/recipients.csv',
    {
      schema: {
        summary: "Who received, opened, clicked, bounced, unsubscribed or complained, as CSV, streamed for any size: a row per message (clicked: per link; bounced and complained: per event)",
        tags: ['reports'], params: CampaignParams, querystring: RecipientsQuery, response: { 200: Csv, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const event = request.query.event as RecipientEvent;
      const principal = principalOf(request);
      refuseForHipaa(principal, 'Per-recipient exports', 'they list recipients\' addresses outside their messages');
      const { accountId } = principal;
      // Before the answer starts: an unknown campaign is a 404, not an empty file.
      if (!(await campaignExists(deps.db, accountId, id))) throw noCampaign(id);
      return csvReply(reply, `recipients-${event}.csv`, recipientCsv(deps.db, accountId, id, event));
    },
  );
}

function noCampaign(id: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', `No message of this account carries campaignId ${JSON.stringify(id)}.`);
}
