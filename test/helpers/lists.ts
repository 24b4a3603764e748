import assert from 'node:assert/strict';
import type { Database } from '../../src/db/database.js';
import type { ListImport } from '../../src/lists/imports.js';
import { eventually, type TestApp } from './app.js';

/** Lists, members and imports through the API, for test/lists/. */
export interface ListBody {
  id: string;
  name: string;
  optIn: 'single' | 'double';
  token: string;
  counts: { total: number; unconfirmed: number; subscribed: number; unsubscribed: number };
  mailable?: number;
  suppressed?: { total: number; bounced: number; complained: number; unsubscribed: number; suppressed: number };
}

export interface MemberBody {
  id: number;
  email: string;
  name: string | null;
  attributes: Record<string, unknown>;
  status: string;
  listStatus: string;
  suppressed: boolean;
  suppression: { reason: string; since: string } | null;
  createdAt: string;
  subscribedAt: string | null;
  unsubscribedAt: string | null;
  updatedAt: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details: { field: string; message: string }[] };
}

export async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}

export async function createList(app: TestApp, body: Record<string, unknown> = { name: 'News' }, key?: string): Promise<ListBody> {
  return (await json<{ data: ListBody }>(await app.api('/lists', { method: 'POST', json: body, ...(key ? { key } : {}) }), 201)).data;
}

export async function addContacts(app: TestApp, listId: string, contacts: Record<string, unknown>[]): Promise<{ data: ({ data: MemberBody; result: string } | ErrorBody)[]; counts: Record<string, number> }> {
  return json(await app.api(`/lists/${listId}/contacts`, { method: 'POST', json: { contacts } }));
}

export async function members(app: TestApp, listId: string, query = ''): Promise<MemberBody[]> {
  const all: MemberBody[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: MemberBody[]; meta: { pagination: { nextCursor: string | null } } } = await json(await app.api(`/lists/${listId}/contacts?limit=1000${query}${cursor ? `&cursor=${cursor}` : ''}`));
    all.push(...page.data);
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  return all;
}

/** POSTs a CSV body; the 202's job. */
export async function startImport(app: TestApp, listId: string, body: string | Uint8Array<ArrayBuffer>): Promise<ListImport> {
  return (await json<{ data: ListImport }>(await app.api(`/lists/${listId}/imports`, { method: 'POST', body, headers: { 'content-type': 'text/csv' } }), 202)).data;
}

export async function importState(app: TestApp, listId: string, importId: string): Promise<ListImport> {
  return (await json<{ data: ListImport }>(await app.api(`/lists/${listId}/imports/${importId}`))).data;
}

export async function waitForImport(app: TestApp, listId: string, importId: string, timeoutMs = 60_000): Promise<ListImport> {
  return eventually(async () => {
    const job = await importState(app, listId, importId);
    return job.state === 'running' ? undefined : job;
  }, timeoutMs, `import ${importId}`);
}

/** Imports a CSV and waits for the end. */
export async function importCsv(app: TestApp, listId: string, body: string | Uint8Array<ArrayBuffer>): Promise<ListImport> {
  const job = await startImport(app, listId, body);
  return waitForImport(app, listId, job.id);
}

/** Every list's counters against a count of its members: the trigger kept them exact. */
export async function assertCountsExact(db: Database): Promise<void> {
  const rows = await db.query<{ id: string; kept: string; counted: string }>(`
    SELECT l.id, concat_ws(',', l.unconfirmed_count, l.subscribed_count, l.unsubscribed_count) AS kept,
      concat_ws(',', count(m.*) FILTER (WHERE m.status = 'unconfirmed'), count(m.*) FILTER (WHERE m.status = 'subscribed'), count(m.*) FILTER (WHERE m.status = 'unsubscribed')) AS counted
    FROM lists l LEFT JOIN list_members m ON m.list_seq = l.seq GROUP BY l.id, l.unconfirmed_count, l.subscribed_count, l.unsubscribed_count`);
  for (const row of rows) assert.equal(row.kept, row.counted, `counts of ${row.id}`);
}

/** The stored rows of a list's members and their contacts, to compare before and after. */
export async function storedRows(db: Database, listId: string): Promise<unknown[]> {
  return db.query(`
    SELECT c.*, m.status, m.created_at AS joined_at, m.subscribed_at, m.unsubscribed_at, m.updated_at AS member_updated_at
    FROM lists l JOIN list_members m ON m.list_seq = l.seq JOIN contacts c ON c.id = m.contact_id
    WHERE l.id = $1 ORDER BY c.id`, [listId]);
}
