import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { validationError } from '../shared/errors.js';
import { ID_MAX } from '../shared/storable.js';
import { normalizeAddress, type SuppressionReason } from '../suppression/suppressions.js';
import type { Attributes } from './attributes.js';
import { emailProblem, type ContactInput } from './contactInput.js';
import { defaultStatus, getListRow, lockList, type OptIn } from './lists.js';
import { shownStatus, STATUS_OF_SUPPRESSION, type ListStatus, type ShownStatus } from './statuses.js';

const sql = sqlFile(new URL('./contacts.sql', import.meta.url), [
  'upsertContacts', 'insertContactsAndMembers', 'upsertMembers', 'findContactById', 'findContactByEmail', 'getMembers', 'pageMembers', 'pageSubscribedMembers', 'pageOtherMembers',
  'pageSuppressedMembers', 'patchContact', 'removeMembers', 'resolveContacts', 'getContact', 'suppressionOf', 'membershipsOf', 'deleteContact', 'deleteMembershipsOf',
] as const);

/**
 * Contacts and list members (issue 16). A contact is one address of an account, with its name
 * and attributes shared by every list it is on; a member is a contact on a list, with the list
 * status. How a member is shown (statuses.ts) also depends on the suppression list.
 */
export interface Suppressed {
  reason: SuppressionReason;
  since: string;
}

export interface Member {
  id: number;
  email: string;
  name: string | null;
  attributes: Attributes;
  /** As shown: the list status, or what the suppression list says (statuses.ts). */
  status: ShownStatus;
  listStatus: ListStatus;
  suppressed: boolean;
  suppression: Suppressed | null;
  /** When the contact joined this list. */
  createdAt: string;
  subscribedAt: string | null;
  unsubscribedAt: string | null;
  updatedAt: string;
}

export interface Membership {
  listId: string;
  listName: string;
  status: ShownStatus;
  listStatus: ListStatus;
  createdAt: string;
  subscribedAt: string | null;
  unsubscribedAt: string | null;
  updatedAt: string;
}

export interface Contact {
  id: number;
  email: string;
  name: string | null;
  attributes: Attributes;
  suppressed: boolean;
  suppression: Suppressed | null;
  lists: Membership[];
  createdAt: string;
  updatedAt: string;
}

export type WriteOutcome = 'added' | 'updated' | 'unchanged';

interface MemberRow extends Record<string, unknown> {
  id: number;
  email: string;
  name: string | null;
  attributes: Attributes | string;
  status: ListStatus;
  created_at: Date | string;
  subscribed_at: Date | string | null;
  unsubscribed_at: Date | string | null;
  updated_at: Date | string;
  suppression_reason: SuppressionReason | null;
  suppressed_at: Date | string | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value));
/** jsonb arrives parsed from pg and PGlite alike; a string is tolerated in case a driver does not parse it. */
export const attributesOf = (value: Attributes | string): Attributes => (typeof value === 'string' ? (JSON.parse(value) as Attributes) : value);

function suppressionOf(reason: SuppressionReason | null, since: Date | string | null): Suppressed | null {
  return reason ? { reason, since: iso(since ?? new Date(0)) } : null;
}

export function memberOf(row: MemberRow): Member {
  const suppression = suppressionOf(row.suppression_reason, row.suppressed_at);
  return {
    id: Number(row.id), email: row.email, name: row.name, attributes: attributesOf(row.attributes),
    status: shownStatus(row.status, row.suppression_reason), listStatus: row.status, suppressed: suppression !== null, suppression,
    createdAt: iso(row.created_at), subscribedAt: isoOrNull(row.subscribed_at), unsubscribedAt: isoOrNull(row.unsubscribed_at), updatedAt: iso(row.updated_at),
  };
}

// ---- writing ----

/**
 * Adds or updates contacts on a list inside the caller's transaction, which holds the list's
 * lock (lockList). Two statements per chunk: the contacts, then the memberships. An address
 * that comes again starts a new chunk (one statement cannot upsert one row twice), so a
 * repeated address is applied in order, as if the rows came one by one. Returns each input's
 * outcome, in input order.
 *
 * `guess.allNew` (an import whose batches have been new contacts so far) tries plain INSERTs of
 * the contacts and their memberships first, in a savepoint, and falls back to the upserts when one
 * of the addresses is a contact already; `guess.allNew` is then false for the caller's next batches.
 */
export async function writeMembers(
  tx: Queryable, accountId: number, list: { seq: number; optIn: OptIn }, inputs: readonly ContactInput[], now: Date, guess: { allNew: boolean } = { allNew: false },
): Promise<WriteOutcome[]> {
  const results: WriteOutcome[] = [];
  let start = 0;
  while (start < inputs.length) {
    const seen = new Set<string>();
    let end = start;
    while (end < inputs.length && !seen.has(inputs[end]!.email)) seen.add(inputs[end++]!.email);
    results.push(...(await writeChunk(tx, accountId, list, inputs.slice(start, end), now, guess)));
    start = end;
  }
  return results;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

/** All new contacts in one statement (insertContactsAndMembers), or null when one exists already. */
async function insertAllNew(tx: Queryable, accountId: number, list: { seq: number; optIn: OptIn }, chunk: readonly ContactInput[], now: Date): Promise<WriteOutcome[] | null> {
  const rows = JSON.stringify(chunk.map((input) => ({ e: input.email, n: input.name ?? null, a: input.attributes ?? null, s: input.status ?? null })));
  await tx.query('SAVEPOINT contacts');
  try {
    await tx.query(sql.insertContactsAndMembers, [accountId, rows, list.seq, defaultStatus(list.optIn), now]);
    await tx.query('RELEASE SAVEPOINT contacts');
    return chunk.map(() => 'added');
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await tx.query('ROLLBACK TO SAVEPOINT contacts');
    return null;
  }
}

async function writeChunk(tx: Queryable, accountId: number, list: { seq: number; optIn: OptIn }, chunk: readonly ContactInput[], now: Date, guess: { allNew: boolean }): Promise<WriteOutcome[]> {
  if (guess.allNew) {
    const added = await insertAllNew(tx, accountId, list, chunk, now);
    if (added) return added;
    guess.allNew = false;
  }
  const contacts = JSON.stringify(chunk.map((input) => ({ e: input.email, n: input.name ?? null, a: input.attributes ?? null })));
  const written = await tx.query<{ id: number; email: string; inserted: boolean }>(sql.upsertContacts, [accountId, contacts, now]);
  const byEmail = new Map(written.map((row) => [row.email, row]));
  const members = JSON.stringify(chunk.map((input) => {
    const row = byEmail.get(input.email);
    return { i: row?.id ?? null, e: input.email, s: input.status ?? null, n: row?.inserted === true };
  }));
  const changed = await tx.query<{ email: string; inserted: boolean }>(sql.upsertMembers, [accountId, list.seq, members, defaultStatus(list.optIn), now]);
  const memberChange = new Map(changed.map((row) => [row.email, row.inserted]));
  return chunk.map((input): WriteOutcome => {
    const contact = byEmail.get(input.email);
    // A contact just created was just added to the list too.
    if (contact?.inserted) return 'added';
    const inserted = memberChange.get(input.email);
    if (inserted === true) return 'added';
    return inserted === false || contact !== undefined ? 'updated' : 'unchanged';
  });
}

/**
 * POST /lists/{id}/contacts: adds or updates each contact on the list in one transaction, and
 * answers each as it now is. Null when there is no such list.
 */
export async function addMembers(db: Database, accountId: number, listId: string, inputs: readonly ContactInput[], now: Date): Promise<{ member: Member; outcome: WriteOutcome }[] | null> {
  return db.transaction(async (tx) => {
    const list = await lockList(tx, accountId, listId);
    if (!list) return null;
    const outcomes = await writeMembers(tx, accountId, list, inputs, now);
    const members = await readMembers(tx, accountId, list.seq, inputs.map((input) => input.email));
    return outcomes.map((outcome, index) => ({ member: members.get(inputs[index]!.email)!, outcome }));
  });
}

/** Members of a list by address. */
async function readMembers(db: Queryable, accountId: number, listSeq: number, emails: readonly string[]): Promise<Map<string, Member>> {
  const rows = await db.query<MemberRow>(sql.getMembers, [accountId, listSeq, [...new Set(emails)]]);
  return new Map(rows.map((row) => [row.email, memberOf(row)]));
}

async function emailOf(db: Queryable, accountId: number, key: ContactKey): Promise<string | null> {
  if ('email' in key) return key.email;
  const [row] = await db.query<{ email: string }>(sql.getContact, [accountId, key.id]);
  return row?.email ?? null;
}

// ---- contact keys: an id or an address ----

export type ContactKey = { id: number } | { email: string };

/** A path's contact: digits are an id, anything else an address (checked, lower-cased). */
export function parseContactKey(text: string, field = 'contact'): ContactKey {
  if (/^\d{1,16}$/.test(text) && Number(text) <= ID_MAX) return { id: Number(text) };
  const problem = emailProblem(text);
  if (problem) throw validationError([{ field, message: `must be a contact id or an email address: ${problem}` }], `${JSON.stringify(text.slice(0, 100))} is neither a contact id nor an email address.`);
  return { email: normalizeAddress(text) };
}

async function contactIdOf(db: Queryable, accountId: number, key: ContactKey): Promise<number | null> {
  const [row] = 'id' in key
    ? await db.query<{ id: number }>(sql.findContactById, [accountId, key.id])
    : await db.query<{ id: number }>(sql.findContactByEmail, [accountId, key.email]);
  return row ? Number(row.id) : null;
}

// ---- reading members ----

/** One member of a list; null when the list or the member is not there. */
export async function getMember(db: Queryable, accountId: number, listId: string, key: ContactKey): Promise<Member | null> {
  const list = await getListRow(db, accountId, listId);
  if (!list) return null;
  const email = await emailOf(db, accountId, key);
  if (email === null) return null;
  return (await readMembers(db, accountId, Number(list.seq), [email])).get(email) ?? null;
}

export interface MemberPage {
  data: Member[];
  nextCursor: string | null;
}

/**
 * A page of a list's members in contact id order, optionally of one shown status. Each status is
 * read from where it is cheap: list statuses from the (list, status, contact) index minus the
 * suppressed; bounced, complained and suppressed from the account's suppression list; unsubscribed
 * from both. Null when there is no such list.
 */
export async function listMembers(db: Queryable, accountId: number, listId: string, options: { status?: ShownStatus; after?: number; limit: number }): Promise<MemberPage | null> {
  const list = await getListRow(db, accountId, listId);
  if (!list) return null;
  const seq = Number(list.seq);
  const after = options.after ?? 0;
  const take = options.limit + 1;
  const reasons = (status: ShownStatus) => (Object.keys(STATUS_OF_SUPPRESSION) as SuppressionReason[]).filter((reason) => STATUS_OF_SUPPRESSION[reason] === status);
  let rows: MemberRow[];
  const status = options.status;
  if (status === undefined) rows = await db.query<MemberRow>(sql.pageMembers, [accountId, seq, after, take]);
  else if (status === 'subscribed') rows = await db.query<MemberRow>(sql.pageSubscribedMembers, [accountId, seq, after, take]);
  else if (status === 'unconfirmed') rows = await db.query<MemberRow>(sql.pageOtherMembers, [accountId, seq, after, take, status]);
  else if (status === 'unsubscribed') {
    const [listed, suppressed] = await Promise.all([
      db.query<MemberRow>(sql.pageOtherMembers, [accountId, seq, after, take, status]),
      db.query<MemberRow>(sql.pageSuppressedMembers, [accountId, seq, after, take, reasons(status)]),
    ]);
    rows = [...listed, ...suppressed].sort((a, b) => Number(a.id) - Number(b.id)).slice(0, take);
  } else rows = await db.query<MemberRow>(sql.pageSuppressedMembers, [accountId, seq, after, take, reasons(status)]);
  const data = rows.slice(0, options.limit).map(memberOf);
  return { data, nextCursor: rows.length > options.limit ? String(data.at(-1)!.id) : null };
}

// ---- changing and removing members ----

export interface MemberPatch {
  name?: string | null;
  /** Replaces the contact's attributes (a POST merges them). */
  attributes?: Attributes;
  status?: ListStatus;
}

/**
 * Changes a member: its contact's name and attributes (shared by all its lists) and its status on
 * this list. Null when the list or the member is not there.
 */
export async function patchMember(db: Database, accountId: number, listId: string, key: ContactKey, patch: MemberPatch, now: Date): Promise<Member | null> {
  return db.transaction(async (tx) => {
    const list = await lockList(tx, accountId, listId);
    if (!list) return null;
    const email = await emailOf(tx, accountId, key);
    if (email === null) return null;
    const current = (await readMembers(tx, accountId, list.seq, [email])).get(email);
    if (!current) return null;
    if (patch.name !== undefined || patch.attributes !== undefined) {
      await tx.query(sql.patchContact, [accountId, current.id, patch.name !== undefined, patch.name ?? null, patch.attributes === undefined ? null : JSON.stringify(patch.attributes), now]);
    }
    if (patch.status !== undefined) await writeMembers(tx, accountId, list, [{ email, status: patch.status }], now);
    return (await readMembers(tx, accountId, list.seq, [email])).get(email)!;
  });
}

/**
 * Takes contacts off a list (ids or addresses); the contacts stay. Returns, for each key in
 * order, whether it was a member. Null when there is no such list.
 */
export async function removeMembers(db: Database, accountId: number, listId: string, keys: readonly ContactKey[]): Promise<boolean[] | null> {
  return db.transaction(async (tx) => {
    const list = await lockList(tx, accountId, listId);
    if (!list) return null;
    const ids = keys.flatMap((key) => ('id' in key ? [key.id] : []));
    const emails = keys.flatMap((key) => ('email' in key ? [key.email] : []));
    const found = await tx.query<{ id: number; email: string }>(sql.resolveContacts, [accountId, ids, emails]);
    const idOfEmail = new Map(found.map((row) => [row.email, Number(row.id)]));
    const known = new Set(found.map((row) => Number(row.id)));
    const idOf = (key: ContactKey) => ('id' in key ? (known.has(key.id) ? key.id : null) : idOfEmail.get(key.email) ?? null);
    const removed = new Set((await tx.query<{ contact_id: number }>(sql.removeMembers, [list.seq, [...known]])).map((row) => Number(row.contact_id)));
    // A key named twice is reported removed once, where it first appears.
    const reported = new Set<number>();
    return keys.map((key) => {
      const id = idOf(key);
      if (id === null || !removed.has(id) || reported.has(id)) return false;
      reported.add(id);
      return true;
    });
  });
}

// ---- contacts across lists ----

/** A contact with every list it is on and its suppression state; null when the account has none such. */
export async function getContact(db: Queryable, accountId: number, key: ContactKey): Promise<Contact | null> {
  const id = await contactIdOf(db, accountId, key);
  if (id === null) return null;
  const [row] = await db.query<{ id: number; email: string; name: string | null; attributes: Attributes | string; created_at: Date | string; updated_at: Date | string }>(sql.getContact, [accountId, id]);
  if (!row) return null;
  const [entry] = await db.query<{ reason: SuppressionReason; created_at: Date | string }>(sql.suppressionOf, [accountId, row.email]);
  const suppression = entry ? suppressionOf(entry.reason, entry.created_at) : null;
  const memberships = await db.query<{ list_id: string; list_name: string; status: ListStatus; created_at: Date | string; subscribed_at: Date | string | null; unsubscribed_at: Date | string | null; updated_at: Date | string }>(
    sql.membershipsOf, [accountId, id],
  );
  return {
    id: Number(row.id), email: row.email, name: row.name, attributes: attributesOf(row.attributes), suppressed: suppression !== null, suppression,
    lists: memberships.map((m) => ({
      listId: m.list_id, listName: m.list_name, status: shownStatus(m.status, suppression?.reason ?? null), listStatus: m.status,
      createdAt: iso(m.created_at), subscribedAt: isoOrNull(m.subscribed_at), unsubscribedAt: isoOrNull(m.unsubscribed_at), updatedAt: iso(m.updated_at),
    })),
    createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
  };
}

/** Erasure: the contact and its memberships of every list. Null when the account has no such contact. */
export async function eraseContact(db: Database, accountId: number, key: ContactKey): Promise<{ id: number; email: string; lists: number } | null> {
  return db.transaction(async (tx) => {
    const id = await contactIdOf(tx, accountId, key);
    if (id === null) return null;
    const [gone] = await tx.query<{ id: number; email: string }>(sql.deleteContact, [accountId, id]);
    if (!gone) return null;
    const [removed] = await tx.query<{ n: number }>(sql.deleteMembershipsOf, [accountId, id]);
    return { id: Number(gone.id), email: gone.email, lists: Number(removed?.n ?? 0) };
  });
}
