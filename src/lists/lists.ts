import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { bareAddressProblem } from '../sending/addresses.js';
import { hasControlCharacters, ONE_LINE_PROBLEM, oneLineProblem } from '../shared/characters.js';
import { validationError, type ErrorDetail } from '../shared/errors.js';
import { newMessageId, randomToken } from '../shared/ids.js';
import type { SuppressionReason } from '../suppression/suppressions.js';
import { STATUS_OF_SUPPRESSION, type ListStatus } from './statuses.js';

const sql = sqlFile(new URL('./lists.sql', import.meta.url), [
  'createList', 'getList', 'listLists', 'updateList', 'endImportsOf', 'deleteList', 'deleteMembersOf', 'lockList', 'suppressedMembers',
] as const);

/**
 * Contact lists (issue 16): per account, each with its opt-in mode, the sender of its
 * confirmation mail (double opt-in, to come) and an unguessable token for its public subscribe
 * URL. Members are in contacts.ts.
 */
export const LIST_ID_PREFIX = 'list_';
export const LIST_ID = /^list_[0-9a-z]{22}$/;
export const LIST_LIMITS = { name: 100, description: 1000, fromName: 200 } as const;
export const OPT_INS = ['single', 'double'] as const;
export type OptIn = (typeof OPT_INS)[number];

export interface MemberCounts {
  total: number;
  unconfirmed: number;
  subscribed: number;
  unsubscribed: number;
}

export interface List {
  id: string;
  name: string;
  description: string | null;
  optIn: OptIn;
  fromAddress: string | null;
  fromName: string | null;
  /** Names the list in its public subscribe URL (POST /subscribe/{token}). */
  token: string;
  /** Members by list status, kept by a trigger in the transaction of every change. */
  counts: MemberCounts;
  createdAt: string;
  updatedAt: string;
}

/** GET /lists/{id}: the counts with the account's suppression list applied too. */
export interface ListDetail extends List {
  /** Subscribed members not on the suppression list: who a campaign to this list mails. */
  mailable: number;
  /** Members on the suppression list, by the status they are shown with. */
  suppressed: { total: number; bounced: number; complained: number; unsubscribed: number; suppressed: number };
}

export interface ListRow extends Record<string, unknown> {
  id: string;
  seq: number;
  name: string;
  description: string | null;
  opt_in: OptIn;
  from_address: string | null;
  from_name: string | null;
  token: string;
  unconfirmed_count: number;
  subscribed_count: number;
  unsubscribed_count: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (value: Date | string) => new Date(value).toISOString();

function fromRow(row: ListRow): List {
  const counts = { unconfirmed: Number(row.unconfirmed_count), subscribed: Number(row.subscribed_count), unsubscribed: Number(row.unsubscribed_count) };
  return {
    id: row.id, name: row.name, description: row.description, optIn: row.opt_in, fromAddress: row.from_address, fromName: row.from_name, token: row.token,
    counts: { total: counts.unconfirmed + counts.subscribed + counts.unsubscribed, ...counts }, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
  };
}

export interface ListInput {
  name?: string;
  description?: string | null;
  optIn?: OptIn;
  fromAddress?: string | null;
  fromName?: string | null;
}

/** Every problem of a list's fields at once (the schema has bounded their sizes already). */
function checkListInput(input: ListInput): void {
  const details: ErrorDetail[] = [];
  const nameProblem = input.name !== undefined && input.name.trim() === '' ? 'must not be blank' : oneLineProblem(input.name);
  if (nameProblem) details.push({ field: 'name', message: nameProblem });
  // A description may run over lines; other control and bidi characters are refused.
  if (input.description && hasControlCharacters(input.description.replace(/\r?\n|\t/g, ' '))) {
    details.push({ field: 'description', message: 'must not contain control characters other than line breaks and tabs, nor bidi controls' });
  }
  if (input.fromAddress) {
    const problem = bareAddressProblem(input.fromAddress);
    if (problem) details.push({ field: 'fromAddress', message: problem });
  }
  if (input.fromName && hasControlCharacters(input.fromName)) details.push({ field: 'fromName', message: ONE_LINE_PROBLEM });
  if (details.length > 0) throw validationError(details, `The list is not valid: ${details.map((detail) => `${detail.field} ${detail.message}`).join('; ')}.`);
}

const clean = (text: string | null | undefined) => (text === undefined || text === null ? null : text.trim() || null);

export async function createList(db: Queryable, accountId: number, input: ListInput & { name: string }, now: Date): Promise<List> {
  checkListInput(input);
  const id = LIST_ID_PREFIX + newMessageId(now.getTime());
  const [row] = await db.query<ListRow>(sql.createList, [
    id, accountId, input.name.trim(), clean(input.description), input.optIn ?? 'single', clean(input.fromAddress)?.toLowerCase() ?? null, clean(input.fromName), randomToken(24), now,
  ]);
  return fromRow(row!);
}

export async function getListRow(db: Queryable, accountId: number, id: string): Promise<ListRow | null> {
  if (!LIST_ID.test(id)) return null;
  const [row] = await db.query<ListRow>(sql.getList, [accountId, id]);
  return row ?? null;
}

export async function getList(db: Queryable, accountId: number, id: string): Promise<ListDetail | null> {
  const row = await getListRow(db, accountId, id);
  if (!row) return null;
  const list = fromRow(row);
  const suppressed = { total: 0, bounced: 0, complained: 0, unsubscribed: 0, suppressed: 0 };
  let suppressedSubscribers = 0;
  for (const entry of await db.query<{ status: ListStatus; reason: SuppressionReason; n: number }>(sql.suppressedMembers, [accountId, row.seq])) {
    const n = Number(entry.n);
    const shown = STATUS_OF_SUPPRESSION[entry.reason] as keyof typeof suppressed;
    suppressed[shown] += n;
    suppressed.total += n;
    if (entry.status === 'subscribed') suppressedSubscribers += n;
  }
  return { ...list, mailable: list.counts.subscribed - suppressedSubscribers, suppressed };
}

export interface ListPage {
  data: List[];
  nextCursor: string | null;
}

export async function listLists(db: Queryable, accountId: number, options: { limit: number; cursor?: string }): Promise<ListPage> {
  const rows = await db.query<ListRow>(sql.listLists, [accountId, options.cursor ?? null, options.limit + 1]);
  const data = rows.slice(0, options.limit).map(fromRow);
  return { data, nextCursor: rows.length > options.limit ? data.at(-1)!.id : null };
}

export async function updateList(db: Queryable, accountId: number, id: string, input: ListInput, now: Date): Promise<List | null> {
  checkListInput(input);
  if (!LIST_ID.test(id)) return null;
  const [row] = await db.query<ListRow>(sql.updateList, [
    accountId, id, input.name?.trim() ?? null, input.optIn ?? null, clean(input.description), clean(input.fromAddress)?.toLowerCase() ?? null, clean(input.fromName),
    input.description !== undefined, input.fromAddress !== undefined, input.fromName !== undefined, now,
  ]);
  return row ? fromRow(row) : null;
}

/** Deletes the list and its members (contacts stay, with their other lists). Null when there is no such list. */
export async function deleteList(db: Database, accountId: number, id: string, now: Date): Promise<{ id: string; name: string; members: number } | null> {
  if (!LIST_ID.test(id)) return null;
  await db.query(sql.endImportsOf, [accountId, id, now]);
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ seq: number; id: string; name: string }>(sql.deleteList, [accountId, id]);
    if (!row) return null;
    const [removed] = await tx.query<{ n: number }>(sql.deleteMembersOf, [row.seq]);
    return { id: row.id, name: row.name, members: Number(removed?.n ?? 0) };
  });
}

/**
 * Inside a transaction that writes members: the list's seq and opt-in mode, with a lock that
 * keeps the list from being deleted until the transaction ends. Null when there is no such list.
 */
export async function lockList(tx: Queryable, accountId: number, id: string): Promise<{ seq: number; optIn: OptIn } | null> {
  if (!LIST_ID.test(id)) return null;
  const [row] = await tx.query<{ seq: number; opt_in: OptIn }>(sql.lockList, [accountId, id]);
  return row ? { seq: Number(row.seq), optIn: row.opt_in } : null;
}

/** The status a new member gets when none is given: subscribed on a single opt-in list, unconfirmed until confirmed on a double one. */
export function defaultStatus(optIn: OptIn): ListStatus {
  return optIn === 'single' ? 'subscribed' : 'unconfirmed';
}
