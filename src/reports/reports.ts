import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { ErrorDetail } from '../shared/errors.js';
import { COLUMN_LIST, countsOf, SUM_LIST, type CounterRow, type Counts } from './counters.js';
import { bucketLabel, EARLIEST, LATEST, rangeParams, seriesBuckets } from './ranges.js';

const raw = sqlFile(new URL('./reports.sql', import.meta.url), [
  'groupedByKey', 'groupedByKeyWithHours', 'groupedBySub', 'groupedBySubWithHours', 'seriesHours', 'seriesDays', 'seriesDaysWithHours',
  'totals', 'campaignExists', 'topLinks', 'linksPage',
] as const);
const sql = Object.fromEntries(Object.entries(raw).map(([name, text]) => [name, text.replace('/* counters */', SUM_LIST).replaceAll('/* columns */', COLUMN_LIST)])) as typeof raw;

export const GROUP_BYS = ['campaign', 'externalId', 'clientId', 'tag', 'domain', 'day', 'hour'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];
export type Interval = 'hour' | 'day';

export interface Filters {
  campaignId?: string | undefined;
  tag?: string | undefined;
}

/**
 * Where a report's rows come from: a dimension of the rollups (migration 018) and how its rows
 * are grouped: by their key (one dimension's values, optionally only `only`), by their second key
 * under one fixed first key (a campaign's domains...), or a time series of one key.
 */
export type Plan =
  | { kind: 'keys'; dim: string; only: string | null }
  | { kind: 'subs'; dim: string; key: string; only: string | null }
  | { kind: 'series'; dim: string; key: string; sub: string; interval: Interval };

const SINGLE: Record<Exclude<GroupBy, 'day' | 'hour'>, string> = { campaign: 'c', externalId: 'e', clientId: 'i', tag: 't', domain: 'd' };

/**
 * Dimensions kept per UTC day only (migration 018): their reports take whole days. Hours are kept
 * where a time series reads them (the account, campaigns, tags, a campaign's tags).
 */
const DAILY_ONLY = new Set(['e', 'i', 'd', 'cd', 'td']);

/** Whether a plan reads rows kept per day only, so that its range must be whole UTC days. */
export function needsWholeDays(plan: Plan): boolean {
  return DAILY_ONLY.has(plan.dim);
}

/** The series of the account, a campaign, a tag, or a campaign's messages with a tag. */
export function seriesPlan(filters: Filters, interval: Interval): Plan {
  const { campaignId, tag } = filters;
  if (campaignId !== undefined && tag !== undefined) return { kind: 'series', dim: 'ct', key: campaignId, sub: tag, interval };
  if (campaignId !== undefined) return { kind: 'series', dim: 'c', key: campaignId, sub: '', interval };
  if (tag !== undefined) return { kind: 'series', dim: 't', key: tag, sub: '', interval };
  return { kind: 'series', dim: 'a', key: '', sub: '', interval };
}

/**
 * The plan of a grouped report, or why it cannot be answered from the rollups: filters combine
 * with a grouping only where a combined rollup exists (docs/REPORTS.md lists them); anything else
 * would need a scan of the events, which reports never do.
 */
export function reportPlan(groupBy: GroupBy, filters: Filters): Plan | ErrorDetail {
  const { campaignId, tag } = filters;
  if (groupBy === 'day' || groupBy === 'hour') return seriesPlan(filters, groupBy);
  const unsupported = (filter: 'campaignId' | 'tag', what: string): ErrorDetail => ({
    field: filter, message: `cannot be combined with groupBy=${groupBy}${what}; see docs/REPORTS.md for the supported combinations`,
  });
  if (campaignId !== undefined && tag !== undefined) {
    if (groupBy === 'tag') return { kind: 'subs', dim: 'ct', key: campaignId, only: tag };
    return unsupported('tag', ' and campaignId together (groupBy=tag, day or hour take both)');
  }
  if (campaignId !== undefined) {
    if (groupBy === 'campaign') return { kind: 'keys', dim: 'c', only: campaignId };
    if (groupBy === 'tag') return { kind: 'subs', dim: 'ct', key: campaignId, only: null };
    if (groupBy === 'domain') return { kind: 'subs', dim: 'cd', key: campaignId, only: null };
    return unsupported('campaignId', '');
  }
  if (tag !== undefined) {
    if (groupBy === 'tag') return { kind: 'keys', dim: 't', only: tag };
    if (groupBy === 'domain') return { kind: 'subs', dim: 'td', key: tag, only: null };
    return unsupported('tag', '');
  }
  return { kind: 'keys', dim: SINGLE[groupBy], only: null };
}

export interface ReportRow {
  /** The group: a campaign id, external id, client id, tag or domain; a day (YYYY-MM-DD) or an hour (ISO 8601). */
  key: string;
  counts: Counts;
}

export interface ReportPage {
  rows: ReportRow[];
  /** Where the next page starts (a key, or a bucket's time), null after the last. */
  next: { key: string } | { time: number } | null;
}

type GroupedRow = CounterRow & { name: string };

/** The total rows' one bucket (migration 018), as a range of the day queries' shape. */
const TOTAL_BUCKET = Date.UTC(1970, 0, 1);
const ALL_TIME = { from: new Date(TOTAL_BUCKET), to: new Date(TOTAL_BUCKET + 86_400_000), dayFrom: new Date(TOTAL_BUCKET), dayTo: new Date(TOTAL_BUCKET + 86_400_000), hours: false };
type TimedRow = CounterRow & { time: Date };

/**
 * One page of a grouped report over [from, to): at most `limit` groups with counts in the range,
 * in key (or time) order, from `after` on (exclusive).
 */
export async function readReport(
  db: Queryable, accountId: number, plan: Plan, range: { from: number; to: number }, limit: number,
  after: { key: string } | { time: number } | null,
): Promise<ReportPage> {
  if (plan.kind === 'series') {
    const start = after && 'time' in after ? Math.max(range.from, after.time) : range.from;
    const rows = await readSeriesRows(db, accountId, plan, { from: start, to: range.to }, limit + 1);
    const page = rows.slice(0, limit).map((row) => ({ key: bucketLabel(row.time, plan.interval), counts: row.counts }));
    const step = plan.interval === 'hour' ? 3_600_000 : 86_400_000;
    return { rows: page, next: rows.length > limit ? { time: rows[limit - 1]!.time + step } : null };
  }
  const allTime = range.from <= EARLIEST && range.to >= LATEST;
  const { from, to, dayFrom, dayTo, hours } = allTime ? ALL_TIME : rangeParams(range.from, range.to);
  const afterKey = after && 'key' in after ? after.key : null;
  const first = afterKey ?? plan.only ?? '';
  // From the cursor's key on, inclusive (text has no "next value"); the cursor's own row is dropped.
  const want = limit + 2;
  // Whole days from the day rows (or all time from the total rows), the hours at the edges apart.
  const tail = hours ? [from, to] : [allTime ? 't' : 'd'];
  const found = plan.kind === 'keys'
    ? await db.query<GroupedRow>(hours ? sql.groupedByKeyWithHours : sql.groupedByKey, [accountId, plan.dim, first, plan.only, dayFrom, dayTo, want, ...tail], hours ? 'reportsGroupedByKeyWithHours' : 'reportsGroupedByKey')
    : await db.query<GroupedRow>(hours ? sql.groupedBySubWithHours : sql.groupedBySub, [accountId, plan.dim, plan.key, first, plan.only, dayFrom, dayTo, want, ...tail], hours ? 'reportsGroupedBySubWithHours' : 'reportsGroupedBySub');
  const rows = (afterKey !== null && found[0]?.name === afterKey ? found.slice(1) : found).slice(0, limit + 1);
  const page = rows.slice(0, limit).map((row) => ({ key: row.name, counts: countsOf(row) }));
  return { rows: page, next: rows.length > limit ? { key: page[page.length - 1]!.key } : null };
}

async function readSeriesRows(
  db: Queryable, accountId: number, plan: Extract<Plan, { kind: 'series' }>, range: { from: number; to: number }, limit: number,
): Promise<{ time: number; counts: Counts }[]> {
  const rows = plan.interval === 'hour'
    ? await db.query<TimedRow>(sql.seriesHours, [accountId, plan.dim, plan.key, plan.sub, new Date(range.from), new Date(range.to), limit], 'reportsSeriesHours')
    : await (async () => {
      const { from, to, dayFrom, dayTo, hours } = rangeParams(range.from, range.to);
      const params = [accountId, plan.dim, plan.key, plan.sub, dayFrom, dayTo, limit];
      return hours
        ? db.query<TimedRow>(sql.seriesDaysWithHours, [...params, from, to], 'reportsSeriesDaysWithHours')
        : db.query<TimedRow>(sql.seriesDays, params, 'reportsSeriesDays');
    })();
  return rows.map((row) => ({ time: new Date(row.time).getTime(), counts: countsOf(row) }));
}

export interface SeriesPoint {
  /** The bucket's start. */
  time: number;
  counts: Counts;
}

/** A time series over [from, to): every bucket, zeros where nothing was counted. */
export async function readSeries(
  db: Queryable, accountId: number, plan: Extract<Plan, { kind: 'series' }>, range: { from: number; to: number },
): Promise<SeriesPoint[]> {
  const buckets = seriesBuckets(range.from, range.to, plan.interval);
  const found = new Map((await readSeriesRows(db, accountId, plan, range, buckets.length + 1)).map((row) => [row.time, row.counts]));
  return buckets.map((time) => ({ time, counts: found.get(time) ?? countsOf(undefined) }));
}

export interface LinkCount {
  url: string;
  clicked: number;
  clickedUnique: number;
  clickedMachine: number;
}

export interface CampaignReport {
  counts: Counts;
  /** The most clicked links, at most the limit asked for. */
  links: LinkCount[];
  /** How many links the campaign has in all. */
  linkCount: number;
}

type LinkRow = { url: string; clicked: number; clicked_unique: number; clicked_machine: number };
const linkOf = (row: LinkRow): LinkCount => ({ url: row.url, clicked: Number(row.clicked), clickedUnique: Number(row.clicked_unique), clickedMachine: Number(row.clicked_machine) });

/** Whether any message of the account carries this campaign id. */
export async function campaignExists(db: Queryable, accountId: number, campaignId: string): Promise<boolean> {
  const [row] = await db.query<{ found: boolean }>(sql.campaignExists, [accountId, campaignId], 'reportsCampaignExists');
  return row?.found ?? false;
}

/** A campaign's totals over all time and its most clicked links; null when no message of the account has it. */
export async function campaignReport(db: Queryable, accountId: number, campaignId: string, linkLimit: number): Promise<CampaignReport | null> {
  if (!(await campaignExists(db, accountId, campaignId))) return null;
  const [[totals], links] = await Promise.all([
    db.query<CounterRow>(sql.totals, [accountId, 'c', campaignId, ''], 'reportsTotals'),
    db.query<LinkRow & { links: number }>(sql.topLinks, [accountId, campaignId, linkLimit], 'reportsTopLinks'),
  ]);
  return { counts: countsOf(totals), links: links.map(linkOf), linkCount: Number(links[0]?.links ?? 0) };
}

/** Every link of a campaign, a page at a time (after the key `after`, '' for the first). */
export async function linksPage(db: Queryable, accountId: number, campaignId: string, after: string, limit: number): Promise<{ links: LinkCount[]; last: string | null }> {
  const rows = await db.query<LinkRow & { url_hash: string }>(sql.linksPage, [accountId, campaignId, after, limit], 'reportsLinksPage');
  return { links: rows.map(linkOf), last: rows.length === limit ? rows[rows.length - 1]!.url_hash : null };
}
