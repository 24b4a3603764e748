import { restoreCell } from '../shared/csvCells.js';
import type { ErrorDetail } from '../shared/errors.js';
import { isStorableText, UNSTORABLE_TEXT } from '../shared/storable.js';
import { normalizeAddress } from '../suppression/suppressions.js';
import { ATTRIBUTE_LIMITS, attributeNameProblem, attributesProblems, type Attributes } from './attributes.js';
import { emailProblem, nameProblem, type ContactInput } from './contactInput.js';
import { isListStatus, LIST_STATUSES } from './statuses.js';

/**
 * The columns of a contacts CSV, and each row as a contact or the reason it is refused.
 *
 * A header row is required. `email` (or `address`, `email address`, `email_address`, `e-mail`)
 * is the address; `name` and `status` are optional; `attributes` holds a JSON object (the
 * export's column: attributes keep their types through a round trip); the export's timestamps
 * and `suppression` are read and ignored; every other column is an attribute of that name, its
 * cells strings. An empty cell gives nothing: the contact keeps what it has. Every cell passes
 * through restoreCell, which undoes the export's protection against formula injection.
 */
export const EMAIL_HEADERS = new Set(['email', 'address', 'email address', 'email_address', 'e-mail']);
const IGNORED_HEADERS = new Set(['created_at', 'subscribed_at', 'unsubscribed_at', 'updated_at', 'suppression']);

export interface CsvLayout {
  columns: number;
  email: number;
  name: number | null;
  status: number | null;
  json: number | null;
  attributes: { at: number; name: string }[];
}

/** The layout a header row describes, or every problem with it. */
export function readHeader(cells: readonly string[]): { ok: true; layout: CsvLayout } | { ok: false; details: ErrorDetail[] } {
  const details: ErrorDetail[] = [];
  const layout: CsvLayout = { columns: cells.length, email: -1, name: null, status: null, json: null, attributes: [] };
  const seen = new Set<string>();
  cells.forEach((raw, at) => {
    const field = `header, column ${at + 1}`;
    const cell = restoreCell(raw).trim();
    const key = cell.toLowerCase();
    if (!isStorableText(cell)) return details.push({ field, message: UNSTORABLE_TEXT });
    if (cell === '') return details.push({ field, message: 'has no name' });
    const canonical = EMAIL_HEADERS.has(key) ? 'email' : key;
    if (seen.has(canonical)) return details.push({ field, message: `names the column "${cell}" a second time` });
    seen.add(canonical);
    if (canonical === 'email') layout.email = at;
    else if (key === 'name') layout.name = at;
    else if (key === 'status') layout.status = at;
    else if (key === 'attributes') layout.json = at;
    else if (!IGNORED_HEADERS.has(key)) {
      const problem = attributeNameProblem(cell);
      if (problem) details.push({ field, message: problem });
      else layout.attributes.push({ at, name: cell });
    }
    return undefined;
  });
  if (layout.email < 0) details.unshift({ field: 'header', message: `needs an email column (named one of: ${[...EMAIL_HEADERS].join(', ')})` });
  if (layout.attributes.length > ATTRIBUTE_LIMITS.keys) details.push({ field: 'header', message: `has ${layout.attributes.length} attribute columns; at most ${ATTRIBUTE_LIMITS.keys}` });
  return details.length > 0 ? { ok: false, details } : { ok: true, layout };
}

const quoted = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);

/** A row as a contact, or why it is refused (one reason, the first found). */
export function readRow(layout: CsvLayout, cells: readonly string[]): { ok: true; contact: ContactInput } | { ok: false; reason: string } {
  if (cells.length !== layout.columns) return { ok: false, reason: `has ${cells.length} field${cells.length === 1 ? '' : 's'}; the header has ${layout.columns}` };
  const given = restoreCell(cells[layout.email]!).trim();
  if (given === '') return { ok: false, reason: 'has no email address' };
  const problem = emailProblem(given);
  if (problem) return { ok: false, reason: `email ${quoted(given)} ${problem}` };
  const contact: ContactInput = { email: normalizeAddress(given) };
  if (layout.name !== null) {
    const name = restoreCell(cells[layout.name]!).trim();
    const issue = name === '' ? null : nameProblem(name);
    if (issue) return { ok: false, reason: `name ${issue}` };
    if (name !== '') contact.name = name;
  }
  if (layout.status !== null) {
    const status = restoreCell(cells[layout.status]!).trim().toLowerCase();
    if (status !== '' && !isListStatus(status)) return { ok: false, reason: `status ${quoted(status)} is not one of ${LIST_STATUSES.join(', ')}` };
    if (status !== '') contact.status = status as ContactInput['status'];
  }
  let attributes: Record<string, unknown> | null = null;
  if (layout.json !== null) {
    const text = restoreCell(cells[layout.json]!).trim();
    if (text !== '') {
      try {
        attributes = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return { ok: false, reason: 'attributes is not JSON' };
      }
      if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return { ok: false, reason: 'attributes must be a JSON object' };
    }
  }
  for (const column of layout.attributes) {
    const value = restoreCell(cells[column.at]!);
    if (value === '') continue;
    attributes ??= {};
    attributes[column.name] = value;
  }
  if (attributes !== null) {
    const issues = attributesProblems(attributes);
    if (issues.length > 0) return { ok: false, reason: `${issues[0]!.field} ${issues[0]!.message}` };
    contact.attributes = attributes as Attributes;
  }
  return { ok: true, contact };
}
