import { bareAddressProblem } from '../sending/addresses.js';
import { oneLineProblem } from '../shared/characters.js';
import type { ErrorDetail } from '../shared/errors.js';
import { isStorableText, UNSTORABLE_TEXT } from '../shared/storable.js';
import { normalizeAddress } from '../suppression/suppressions.js';
import { attributesProblems, type Attributes } from './attributes.js';
import { isListStatus, LIST_STATUSES, type ListStatus } from './statuses.js';

export const NAME_LENGTH = 200;

/**
 * A contact as a request or a CSV row gives it, checked. `undefined` means "not given" (an upsert
 * keeps what is stored); a null name clears it (PATCH only).
 */
export interface ContactInput {
  /** Lower-cased, as the suppression list stores addresses. */
  email: string;
  name?: string | null;
  attributes?: Attributes;
  status?: ListStatus;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; details: ErrorDetail[] };

/** An address, held to the rules of POST /emails; U+FFFD (what undecodable bytes of a file become) is refused too. */
export function emailProblem(email: string): string | null {
  if (email.includes('\uFFFD')) return 'is not valid UTF-8 text (it holds U+FFFD)';
  return bareAddressProblem(email);
}

export function nameProblem(name: string): string | null {
  if (!isStorableText(name)) return UNSTORABLE_TEXT;
  if (name.length > NAME_LENGTH) return `must be at most ${NAME_LENGTH} characters`;
  return oneLineProblem(name);
}

const FIELDS = new Set(['email', 'name', 'attributes', 'status']);

/**
 * Checks one contact of a request: every problem at once, field names under `prefix` (for the
 * items of a bulk request, "contacts[3]"). The JSON schema only documents this shape: checked
 * here, one set of rules for single and bulk requests and CSV rows.
 */
export function checkContactInput(value: unknown, prefix = '', options: { emailRequired?: boolean } = {}): Checked<ContactInput> {
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, details: [{ field: prefix, message: 'must be a JSON object' }] };
  const given = value as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(given)) if (!FIELDS.has(key)) details.push({ field: at(isStorableText(key) ? key : '?'), message: 'is not a field of a contact' });
  let email = '';
  if (given.email === undefined) {
    if (options.emailRequired !== false) details.push({ field: at('email'), message: 'is required' });
  } else if (typeof given.email !== 'string') details.push({ field: at('email'), message: 'must be a string' });
  else {
    const problem = emailProblem(given.email);
    if (problem) details.push({ field: at('email'), message: problem });
    else email = normalizeAddress(given.email);
  }
  if (given.name !== undefined && given.name !== null) {
    const problem = typeof given.name === 'string' ? nameProblem(given.name) : 'must be a string or null';
    if (problem) details.push({ field: at('name'), message: problem });
  }
  if (given.attributes !== undefined) details.push(...attributesProblems(given.attributes, at('attributes')));
  if (given.status !== undefined && !isListStatus(given.status)) details.push({ field: at('status'), message: `must be one of ${LIST_STATUSES.join(', ')}` });
  if (details.length > 0) return { ok: false, details };
  const contact: ContactInput = { email };
  if (given.name !== undefined) contact.name = given.name === null ? null : (given.name as string).trim() || null;
  if (given.attributes !== undefined) contact.attributes = given.attributes as Attributes;
  if (given.status !== undefined) contact.status = given.status as ListStatus;
  return { ok: true, value: contact };
}
