/**
 * Time ranges of reports. Counts live in hour buckets and again in UTC-day buckets; a range is
 * read as the whole days it covers plus the hours at its edges, so that a year costs 365 rows
 * per key rather than 8,760. An hour is in a range [from, to) when its start is.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The earliest and latest times a report accepts (and "no bound"). */
export const EARLIEST = Date.UTC(1970, 0, 1);
export const LATEST = Date.UTC(9999, 11, 31); // PGlite takes no 5-digit year in a Date parameter

/** A date, or a date and time with its zone: a time without a zone would be read in the server's. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

/** The time of an ISO 8601 string (a date is its UTC midnight), or null when it is not one we take. */
export function parseTime(text: string): number | null {
  if (!ISO_TIME.test(text)) return null;
  const time = Date.parse(text);
  if (Number.isNaN(time) || time < EARLIEST || time > LATEST) return null;
  return time;
}

export const floorHour = (time: number) => Math.floor(time / HOUR) * HOUR;
export const floorDay = (time: number) => Math.floor(time / DAY) * DAY;
const ceilTo = (time: number, unit: number) => Math.ceil(time / unit) * unit;

/**
 * The SQL parameters of a range: the whole days [dayFrom, dayTo) and the hours [from, to) outside
 * them; `hours` is false when there are none (the range is whole days), so that no hour row is read.
 */
export interface RangeParams {
  from: Date;
  to: Date;
  dayFrom: Date;
  dayTo: Date;
  hours: boolean;
}

export function rangeParams(from: number, to: number): RangeParams {
  // Day d is whole when each of its hours starts before `to`: d + 23 h < to.
  let dayFrom = ceilTo(from, DAY);
  let dayTo = ceilTo(to - 23 * HOUR, DAY);
  if (dayTo <= dayFrom) dayFrom = dayTo = from; // no whole day: every hour of the range is read
  const hours = ceilTo(from, HOUR) < dayFrom || dayTo < to;
  return { from: new Date(from), to: new Date(to), dayFrom: new Date(dayFrom), dayTo: new Date(dayTo), hours };
}

/** The bucket starts a series over [from, to) has, at an hour's or a day's step. */
export function seriesBuckets(from: number, to: number, interval: 'hour' | 'day'): number[] {
  const firstHour = ceilTo(from, HOUR);
  const lastHour = ceilTo(to, HOUR) - HOUR;
  if (lastHour < firstHour) return [];
  const step = interval === 'hour' ? HOUR : DAY;
  const first = interval === 'hour' ? firstHour : floorDay(firstHour);
  const last = interval === 'hour' ? lastHour : floorDay(lastHour);
  const buckets: number[] = [];
  for (let time = first; time <= last; time += step) buckets.push(time);
  return buckets;
}

/** How many buckets a series over [from, to) has, without listing them. */
export function seriesLength(from: number, to: number, interval: 'hour' | 'day'): number {
  const firstHour = ceilTo(from, HOUR);
  const lastHour = ceilTo(to, HOUR) - HOUR;
  if (lastHour < firstHour) return 0;
  return interval === 'hour' ? (lastHour - firstHour) / HOUR + 1 : (floorDay(lastHour) - floorDay(firstHour)) / DAY + 1;
}

/** A bucket's label: the day (YYYY-MM-DD) or the hour's start (ISO 8601, UTC). */
export function bucketLabel(time: number, interval: 'hour' | 'day'): string {
  const iso = new Date(time).toISOString();
  return interval === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00:00Z`;
}
