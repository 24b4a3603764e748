import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { neutraliseCell } from '../shared/csvCells.js';

export const RECIPIENT_EVENTS = ['delivered', 'opened', 'clicked', 'bounced', 'unsubscribed', 'complained'] as const;
export type RecipientEvent = (typeof RECIPIENT_EVENTS)[number];

const sql = sqlFile(new URL('./exports.sql', import.meta.url), RECIPIENT_EVENTS);

/** Messages read per query: large enough that a round trip is a small part of a page. */
export const EXPORT_PAGE = 5_000;

type Row = Record<string, unknown> & { id: string; to_address: string; external_id: string | null };

const text = (value: unknown): string => (value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value));
const count = (value: unknown): number => Number(value ?? 0);

interface Shape {
  columns: readonly string[];
  /** The cells after messageId, email and externalId; null when the message has no such event. */
  cells(row: Row): unknown[] | null;
}

/** Each export's columns after messageId, email and externalId (docs/REPORTS.md). */
const SHAPES: Record<RecipientEvent, Shape> = {
  delivered: { columns: ['deliveredAt', 'status'], cells: (row) => (row.at ? [row.at, row.type] : null) },
  opened: {
    columns: ['firstOpenedAt', 'opens', 'machineOpens'],
    cells: (row) => (count(row.opens) + count(row.machine_opens) > 0 ? [row.first_at, count(row.opens), count(row.machine_opens)] : null),
  },
  clicked: {
    columns: ['url', 'firstClickedAt', 'clicks', 'machineClicks'],
    cells: (row) => (row.url !== null && row.url !== undefined ? [row.url, row.first_at, count(row.clicks), count(row.machine_clicks)] : null),
  },
  bounced: {
    columns: ['bouncedAt', 'bounceClass', 'reason', 'code', 'enhancedCode', 'reply', 'recipient'],
    cells: (row) => (row.at ? [row.at, row.bounce_class, row.reason, row.code, row.enhanced_code, row.reply, row.recipient] : null),
  },
  unsubscribed: { columns: ['unsubscribedAt', 'via'], cells: (row) => (row.at ? [row.at, row.via] : null) },
  complained: { columns: ['complainedAt', 'feedbackType', 'recipient'], cells: (row) => (row.at ? [row.at, row.feedback_type, row.recipient] : null) },
};

export function recipientColumns(event: RecipientEvent): string[] {
  return ['messageId', 'email', 'externalId', ...SHAPES[event].columns];
}

/** RFC 4180 quoting, as csv-stringify does it: a cell with a comma, a quote or a line break is quoted. */
const NEEDS_QUOTES = /[",\r\n]/;
const cell = (value: unknown): string => {
  const safe = neutraliseCell(text(value));
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/**
 * CSV lines, every cell neutralised against formula injection (src/shared/csvCells.ts). Written
 * here rather than by csv-stringify, which took 1 µs a row of an export (2.5 times this).
 */
export function csvLines(rows: readonly (readonly unknown[])[]): string {
  let out = '';
  for (const row of rows) out += `${row.map(cell).join(',')}\n`;
  return out;
}

export interface RecipientPage {
  /** The CSV rows of the page (possibly none: no message of the page had the event). */
  csv: string;
  rows: number;
  /** The id of the page's last message, null when the page was the campaign's last. */
  last: string | null;
}

/** One page of a per-recipient export: the messages of the campaign after `after` ('' first). */
export async function recipientPage(db: Queryable, accountId: number, campaignId: string, event: RecipientEvent, after: string, pageSize = EXPORT_PAGE): Promise<RecipientPage> {
  const found = await db.query<Row>(sql[event], [accountId, campaignId, after, pageSize], `reportsExport${event[0]!.toUpperCase()}${event.slice(1)}`);
  const shape = SHAPES[event];
  const rows: unknown[][] = [];
  let messages = 0;
  let last: string | null = null;
  for (const row of found) {
    if (row.id !== last) messages += 1;
    last = row.id;
    const cells = shape.cells(row);
    if (cells) rows.push([row.id, row.to_address, row.external_id, ...cells]);
  }
  return { csv: csvLines(rows), rows: rows.length, last: messages === pageSize ? last : null };
}

/**
 * The whole export as CSV text, a page of messages at a time (the header first): what the route
 * streams. The next page is read while the current one is written out (two pages held at most);
 * the consumer of the generator paces the reads.
 */
export async function* recipientCsv(db: Queryable, accountId: number, campaignId: string, event: RecipientEvent, pageSize = EXPORT_PAGE): AsyncGenerator<string> {
  yield csvLines([recipientColumns(event)]);
  let next: Promise<RecipientPage> | null = recipientPage(db, accountId, campaignId, event, '', pageSize);
  try {
    while (next) {
      const page: RecipientPage = await next;
      next = page.last === null ? null : recipientPage(db, accountId, campaignId, event, page.last, pageSize);
      if (page.csv) yield page.csv;
    }
  } finally {
    // A client that went away: the read under way is let finish, unobserved.
    next?.catch(() => undefined);
  }
}
