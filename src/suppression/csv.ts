import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { ErrorDetail } from '../shared/errors.js';
import { bareAddressProblem } from '../sending/addresses.js';
import { ADDRESS_CHARACTER_PROBLEM, hasHiddenCharacters } from '../shared/characters.js';
import { neutraliseCell, restoreCell } from '../shared/csvCells.js';
import { normalizeAddress, SUPPRESSION_REASONS, type NewSuppression, type Suppression, type SuppressionReason } from './suppressions.js';

/**
 * CSV import and export of the suppression list. The export's columns are the import's, so a
 * list moves between accounts or installations (or from another provider's export, which
 * usually has only an address column) unchanged.
 */
export const CSV_COLUMNS = ['address', 'reason', 'messageId', 'createdAt'] as const;
export const MAX_IMPORT_ROWS = 100_000;

/** Header names other providers' exports use for the address column. */
const ADDRESS_HEADERS = new Set(['address', 'email', 'email address', 'email_address', 'recipient']);

/** A time PostgreSQL's timestamptz and every report can hold: JavaScript alone takes years such as -271821. */
function plausibleTime(text: string): boolean {
  const time = Date.parse(text);
  return !Number.isNaN(time) && time >= Date.UTC(1970, 0, 1) && time < Date.UTC(10000, 0, 1);
}

/** The export; every cell neutralised against formula injection (src/shared/csvCells.ts). */
export function suppressionsToCsv(entries: readonly Suppression[]): string {
  const rows = entries.map((entry) => [entry.address, entry.reason, entry.messageId ?? '', entry.createdAt].map(neutraliseCell));
  return stringify(rows, { header: true, columns: [...CSV_COLUMNS] });
}

export type CsvImport = { ok: true; entries: NewSuppression[] } | { ok: false; details: ErrorDetail[] };

/**
 * Reads an import: a header row naming the columns (only the address is required), or no header
 * and the address in the first column. Every row is checked before anything is stored, so a bad
 * file is refused whole, with the line of each problem (the first 20).
 */
export function parseSuppressionCsv(text: string, defaultReason: SuppressionReason): CsvImport {
  let records: string[][];
  /** Rows whose text holds a control or invisible character, which trimming would drop unseen. */
  const hidden = new Set<number>();
  try {
    const parsed = parse(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, raw: true }) as unknown as { record: string[]; raw: string }[];
    parsed.forEach(({ raw }, index) => {
      if (hasHiddenCharacters(raw.replace(/(\r\n|\n|\r)$/, ''))) hidden.add(index);
    });
    // A cell the export quoted against formula injection ('=x@example.com) is read as it was.
    records = parsed.map(({ record }) => record.map(restoreCell));
  } catch (error) {
    return { ok: false, details: [{ field: 'body', message: `is not valid CSV: ${(error as Error).message}` }] };
  }
  if (records.length === 0) return { ok: false, details: [{ field: 'body', message: 'has no rows' }] };
  const first = records[0]!.map((cell) => cell.toLowerCase());
  const hasHeader = first.some((cell) => ADDRESS_HEADERS.has(cell));
  const column = (names: string[]) => (hasHeader ? first.findIndex((cell) => names.includes(cell)) : -1);
  const addressAt = hasHeader ? first.findIndex((cell) => ADDRESS_HEADERS.has(cell)) : 0;
  const reasonAt = column(['reason']);
  const messageAt = column(['messageid', 'message_id']);
  const createdAt = column(['createdat', 'created_at']);
  const rows = hasHeader ? records.slice(1) : records;
  if (rows.length > MAX_IMPORT_ROWS) return { ok: false, details: [{ field: 'body', message: `has ${rows.length} rows; at most ${MAX_IMPORT_ROWS} per import` }] };

  const details: ErrorDetail[] = [];
  const entries: NewSuppression[] = [];
  rows.forEach((row, index) => {
    const line = index + (hasHeader ? 2 : 1);
    const given = row[addressAt] ?? '';
    const problem = hidden.has(index + (hasHeader ? 1 : 0)) ? ADDRESS_CHARACTER_PROBLEM : bareAddressProblem(given);
    const address = normalizeAddress(given);
    const reason = (reasonAt >= 0 && row[reasonAt] ? row[reasonAt]!.toUpperCase() : defaultReason) as SuppressionReason;
    const created = createdAt >= 0 && row[createdAt] ? row[createdAt]! : null;
    if (problem) details.push({ field: `line ${line}`, message: `${JSON.stringify(given)} ${problem}` });
    else if (!SUPPRESSION_REASONS.includes(reason)) details.push({ field: `line ${line}`, message: `reason "${reason}" is not one of ${SUPPRESSION_REASONS.join(', ')}` });
    else if (created !== null && !plausibleTime(created)) details.push({ field: `line ${line}`, message: `createdAt "${created}" is not an ISO 8601 time` });
    else entries.push({ address, reason, messageId: messageAt >= 0 && row[messageAt] ? row[messageAt]! : null, createdAt: created ? new Date(created).toISOString() : null });
  });
  if (details.length > 0) return { ok: false, details: details.slice(0, 20) };
  return { ok: true, entries };
}
