/** The reports' and imports' pure parts (tested in console/test): ranges, URLs, chart data, progress. */

export type Interval = 'hour' | 'day';
export const GROUP_BYS = ['campaign', 'tag', 'domain', 'externalId', 'clientId', 'day', 'hour'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

/** Counters of a report row, a series point or a campaign report (docs/REPORTS.md); rates are null without a denominator. */
export type ReportCounts = Record<string, number | null>;

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
}

/** The series the report charts draw: the outcomes and the people's engagement. */
export const OUTCOME_SERIES: readonly SeriesSpec[] = [
  { key: 'delivered', label: 'Delivered', color: '#2b8a3e' },
  { key: 'bounced', label: 'Bounced', color: '#c92a2a' },
  { key: 'openedUnique', label: 'Opened', color: '#e67700' },
  { key: 'clickedUnique', label: 'Clicked', color: '#0b7285' },
];

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A date input's value (YYYY-MM-DD, a UTC day) n days before `now`'s UTC day. */
export function utcDate(now: Date, daysBefore = 0): string {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - daysBefore * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The API's range from the page's two UTC dates, the last one included: `to` is the midnight after
 * it (the API's `to` is exclusive). Null when a date is missing or the range is backwards.
 */
export function rangeOf(fromDate: string, toDate: string): { from: string; to: string } | null {
  const from = Date.parse(`${fromDate}T00:00:00Z`);
  const to = Date.parse(`${toDate}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(fromDate) || !/^\d{4}-\d{2}-\d{2}$/.test(toDate) || Number.isNaN(from) || Number.isNaN(to) || to < from) return null;
  return { from: fromDate, to: new Date(to + DAY_MS).toISOString().slice(0, 10) };
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== '') search.set(name, String(value));
  return search.toString();
}

/** GET /reports: a page of rows (JSON), or every row as the API's CSV. */
export function reportUrl(params: { groupBy: GroupBy; from: string; to: string; limit?: number; cursor?: string | null; format?: 'csv' }): string {
  return `/reports?${query({ groupBy: params.groupBy, from: params.from, to: params.to, limit: params.limit, cursor: params.cursor, format: params.format })}`;
}

/** GET /reports/timeseries of the account or of a campaign. */
export function seriesUrl(params: { interval: Interval; from?: string; to?: string; campaignId?: string; format?: 'csv' }): string {
  return `/reports/timeseries?${query({ interval: params.interval, campaignId: params.campaignId, from: params.from, to: params.to, format: params.format })}`;
}

/** A series bucket's label as uPlot's x value (seconds): a day is its UTC midnight, an hour is ISO 8601. */
export function bucketSeconds(label: string): number {
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(label) ? `${label}T00:00:00Z` : label) / 1000;
}

/** The chart's data from a series' points: x in seconds, one line per spec (a missing counter is 0). */
export function chartOf(points: readonly { time: string; [key: string]: unknown }[], specs: readonly SeriesSpec[]): { times: number[]; series: { label: string; color: string; values: number[] }[] } {
  return {
    times: points.map((point) => bucketSeconds(point.time)),
    series: specs.map((spec) => ({ label: spec.label, color: spec.color, values: points.map((point) => Number(point[spec.key]) || 0) })),
  };
}

/** Each spec's sum over the points: the numbers beside a chart (a canvas says nothing to a screen reader). */
export function totalsOf(points: readonly Record<string, unknown>[], specs: readonly SeriesSpec[]): { key: string; label: string; total: number }[] {
  return specs.map((spec) => ({ key: spec.key, label: spec.label, total: points.reduce((sum, point) => sum + (Number(point[spec.key]) || 0), 0) }));
}

/**
 * The series range of a campaign's chart: per hour while it started at most a week ago (a send and
 * its first days of opens), else per day; from a few buckets before its start, so that a send of
 * the last hour is a line and not a lone point (the zeros before it say it had not started). Until
 * it started (or without a start), the last 48 hours.
 */
export function campaignSeries(startedAt: string | null, now: Date): { interval: Interval; from?: string } {
  const started = startedAt === null ? Number.NaN : Date.parse(startedAt);
  if (Number.isNaN(started) || started > now.getTime()) return { interval: 'hour' };
  if (now.getTime() - started <= 7 * DAY_MS) return { interval: 'hour', from: new Date((Math.floor(started / HOUR_MS) - 3) * HOUR_MS).toISOString() };
  return { interval: 'day', from: new Date((Math.floor(started / DAY_MS) - 1) * DAY_MS).toISOString().slice(0, 10) };
}

/** Line feeds in a chunk of a file: the browser counts a CSV's lines before it sends it, to give the import a denominator. */
export function countLineFeeds(chunk: Uint8Array): number {
  let count = 0;
  for (const byte of chunk) if (byte === 0x0a) count++;
  return count;
}

/** The records a CSV of `bytes` bytes and `lineFeeds` line feeds holds, its header aside (an unterminated last line is a record too). */
export function expectedRecords(bytes: number, lineFeeds: number, endsWithLineFeed: boolean): number {
  if (bytes === 0) return 0;
  return Math.max(0, lineFeeds + (endsWithLineFeed ? 0 : 1) - 1);
}

/**
 * How far an import is, 0 to 1. The job counts the rows it has read; the browser counted the
 * file's lines. Lines overcount records (empty lines, quoted line breaks), so a running import
 * stops at 99% and only its end makes 100%. Null: nothing to measure against (the bar shows
 * activity instead).
 */
export function importFraction(job: { state: string; rowsRead: number }, expected: number | null): number | null {
  if (job.state !== 'running') return 1;
  if (expected === null || expected <= 0) return null;
  return Math.min(0.99, job.rowsRead / expected);
}

/**
 * How many of a campaign's messages have an outcome (delivered, handed to a relay, bounced, failed
 * or rejected) out of those it stored, 0 to 1; null before it stored any. A message that bounces
 * after its delivery counts twice, hence the cap.
 */
export function outcomeFraction(counts: { queued: number; rejected: number }, report: ReportCounts | null): number | null {
  const stored = counts.queued + counts.rejected;
  if (stored === 0) return null;
  const ended = ['delivered', 'sent', 'bounced', 'failed', 'rejected'].reduce((sum, key) => sum + (Number(report?.[key]) || 0), 0);
  return Math.min(1, ended / stored);
}

/** A campaign id as the API makes them: the only report keys the console links to a campaign's page. */
export function isCampaignId(key: string): boolean {
  return /^cmp_[0-9a-z]{22}$/.test(key);
}
