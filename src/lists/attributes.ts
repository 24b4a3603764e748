import type { ErrorDetail } from '../shared/errors.js';
import { hasControlCharacters } from '../shared/characters.js';
import { isStorableText, UNSTORABLE_TEXT } from '../shared/storable.js';

/**
 * A contact's attributes: a flat JSON object whose values are strings, numbers, booleans or null,
 * bounded so that a contact row stays small (a campaign reads them for every recipient). Their
 * names are placeholder names of the templates to come (`{{city}}`): letters, digits, "_", "-",
 * "." and inner spaces, starting with a letter, digit or "_", so that no name begins with one of
 * mustache's sigils (#, ^, /, !, >, &, =). Names that are CSV columns of their own are reserved.
 */
export type AttributeValue = string | number | boolean | null;
export type Attributes = Record<string, AttributeValue>;

export const ATTRIBUTE_LIMITS = { keys: 100, bytes: 8 * 1024, nameLength: 64 } as const;

const NAME = /^[\p{L}\p{N}_](?:[\p{L}\p{N}_ .-]*[\p{L}\p{N}_.-])?$/u;

/** Columns of the import and the export: never attribute names (compared lower-cased). */
export const RESERVED_NAMES = new Set([
  'email', 'address', 'email address', 'email_address', 'e-mail', 'name', 'status', 'attributes',
  'created_at', 'subscribed_at', 'unsubscribed_at', 'updated_at', 'suppression',
  // Not a column, but assigning it to an object changes the object's prototype instead.
  '__proto__',
]);

export function attributeNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > ATTRIBUTE_LIMITS.nameLength) return `an attribute name must be 1 to ${ATTRIBUTE_LIMITS.nameLength} characters`;
  if (!NAME.test(name) || hasControlCharacters(name)) return 'an attribute name may hold letters, digits, "_", "-", "." and inner spaces, and starts with a letter, digit or "_"';
  if (RESERVED_NAMES.has(name.toLowerCase())) return `"${name}" is reserved (a column of the CSV files), not an attribute name`;
  return null;
}

/** The bytes the attributes count for: their JSON text. */
export function attributesBytes(attributes: Attributes): number {
  return Buffer.byteLength(JSON.stringify(attributes));
}

/**
 * Whether the attributes are within the byte bound, measured only when they might not be: a
 * character takes at most 6 bytes as JSON (an escape such as \u001f), so short attributes fit
 * without being written out (an import checks a million of them).
 */
function withinBytes(attributes: Attributes): boolean {
  let chars = 2;
  for (const [name, value] of Object.entries(attributes)) chars += name.length + (typeof value === 'string' ? value.length : 24) + 6;
  return chars * 6 <= ATTRIBUTE_LIMITS.bytes || attributesBytes(attributes) <= ATTRIBUTE_LIMITS.bytes;
}

/**
 * Every problem of an attributes value given by a request or a CSV row (field names under
 * `field`), or none. Checked here rather than by a JSON schema, whose type coercion would turn
 * [1] into 1 quietly.
 */
export function attributesProblems(value: unknown, field = 'attributes'): ErrorDetail[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [{ field, message: 'must be a JSON object of name: value' }];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > ATTRIBUTE_LIMITS.keys) return [{ field, message: `must have at most ${ATTRIBUTE_LIMITS.keys} attributes` }];
  const details: ErrorDetail[] = [];
  for (const [name, item] of entries) {
    if (!isStorableText(name)) {
      details.push({ field, message: `an attribute name ${UNSTORABLE_TEXT}` });
      continue;
    }
    const nameProblem = attributeNameProblem(name);
    if (nameProblem) details.push({ field: `${field}.${name}`, message: nameProblem });
    else if (typeof item === 'string') {
      if (!isStorableText(item)) details.push({ field: `${field}.${name}`, message: UNSTORABLE_TEXT });
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) details.push({ field: `${field}.${name}`, message: 'must be a finite number' });
    } else if (item !== null && typeof item !== 'boolean') {
      details.push({ field: `${field}.${name}`, message: 'must be a string, number, boolean or null' });
    }
  }
  if (details.length === 0 && !withinBytes(value as Attributes)) {
    details.push({ field, message: `must be at most ${ATTRIBUTE_LIMITS.bytes} bytes as JSON` });
  }
  return details;
}
