/**
 * The counters of a report (docs/REPORTS.md defines each), as the rollup tables hold them and as
 * the API shows them, and the rates computed from them at read time.
 */
export const COUNTER_COLUMNS = {
  requested: 'requested',
  sent: 'sent',
  delivered: 'delivered',
  deferred: 'deferred',
  bouncedHard: 'bounced_hard',
  bouncedSoft: 'bounced_soft',
  rejected: 'rejected',
  failed: 'failed',
  complained: 'complained',
  unsubscribed: 'unsubscribed',
  opened: 'opened',
  openedUnique: 'opened_unique',
  openedMachine: 'opened_machine',
  clicked: 'clicked',
  clickedUnique: 'clicked_unique',
  clickedMachine: 'clicked_machine',
} as const;

export type CounterName = keyof typeof COUNTER_COLUMNS;
export type CounterRow = { [K in (typeof COUNTER_COLUMNS)[CounterName]]: number };

export const RATE_NAMES = ['deliveryRate', 'bounceRate', 'complaintRate', 'openRate', 'clickRate', 'clickToOpenRate'] as const;
export type RateName = (typeof RATE_NAMES)[number];

/** The counters in the order the API and the CSV show them (`bounced` is hard + soft). */
export const FIELDS = [
  'requested', 'sent', 'delivered', 'deferred', 'bounced', 'bouncedHard', 'bouncedSoft', 'rejected', 'failed', 'complained',
  'unsubscribed', 'opened', 'openedUnique', 'openedMachine', 'clicked', 'clickedUnique', 'clickedMachine',
] as const;
export type FieldName = (typeof FIELDS)[number];

export type Counts = Record<FieldName, number> & Record<RateName, number | null>;

/** `sum(col)::bigint AS col, ...` for every counter: the select list of a rollup read. */
export const SUM_LIST = Object.values(COUNTER_COLUMNS).map((column) => `COALESCE(sum(${column}), 0)::bigint AS ${column}`).join(', ');

/** The counter columns, for the inner selects of a read that adds two spans up. */
export const COLUMN_LIST = Object.values(COUNTER_COLUMNS).join(', ');

/** A rate with four decimals (0.1234 is 12.34%), or null when its denominator is zero. */
function rate(numerator: number, denominator: number): number | null {
  return denominator > 0 ? Math.round((numerator / denominator) * 10_000) / 10_000 : null;
}

/** The API's counters and rates from a rollup row (zeros for a row that is absent). */
export function countsOf(row: Partial<CounterRow> | undefined): Counts {
  const get = (name: CounterName) => Number(row?.[COUNTER_COLUMNS[name]] ?? 0);
  const c = Object.fromEntries(Object.keys(COUNTER_COLUMNS).map((name) => [name, get(name as CounterName)])) as Record<CounterName, number>;
  const bounced = c.bouncedHard + c.bouncedSoft;
  // Handed over to the recipient's side: delivered to its MX, or sent through a relay.
  const reached = c.delivered + c.sent;
  return {
    requested: c.requested, sent: c.sent, delivered: c.delivered, deferred: c.deferred, bounced,
    bouncedHard: c.bouncedHard, bouncedSoft: c.bouncedSoft, rejected: c.rejected, failed: c.failed,
    complained: c.complained, unsubscribed: c.unsubscribed, opened: c.opened, openedUnique: c.openedUnique,
    openedMachine: c.openedMachine, clicked: c.clicked, clickedUnique: c.clickedUnique, clickedMachine: c.clickedMachine,
    deliveryRate: rate(reached, c.requested),
    bounceRate: rate(bounced, c.requested),
    complaintRate: rate(c.complained, reached),
    openRate: rate(c.openedUnique, reached),
    clickRate: rate(c.clickedUnique, reached),
    clickToOpenRate: rate(c.clickedUnique, c.openedUnique),
  };
}

/** The CSV cells of counts, in FIELDS then RATE_NAMES order (a null rate is an empty cell). */
export function countCells(counts: Counts): string[] {
  return [...FIELDS.map((name) => String(counts[name])), ...RATE_NAMES.map((name) => (counts[name] === null ? '' : String(counts[name])))];
}

export const COUNT_HEADERS: readonly string[] = [...FIELDS, ...RATE_NAMES];
