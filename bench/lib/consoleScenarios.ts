import type { Database } from '../../src/db/database.js';
import { sqlFile } from '../../src/db/sql.js';
import { SCAN_BUDGET } from '../../src/sending/read.js';
import { messageIdFloor } from '../../src/shared/ids.js';
import { SPAN_MS } from './consoleData.js';

/**
 * What the console's messages page asks GET /emails for (console/src/pages/Messages.tsx), with
 * the answers each must give, worked out beforehand from the table with plain queries of their
 * own (not the product's): every answer the benchmark gets is compared with them.
 */
export interface ListParams {
  status?: string;
  to?: string;
  externalId?: string;
  clientId?: string;
  tag?: string;
  /** YYYY-MM-DD, as the page's date inputs send them. */
  after?: string;
  before?: string;
  cursor?: string;
}

export interface ListCase {
  params: ListParams;
  /** The ids of the answer, in order. */
  expected: string[];
  /** The answer's nextCursor when it is not the last id of a full page (a tag search's walk cut short). */
  nextCursor?: string | null;
}

export interface Scenario {
  key: string;
  name: string;
  cases: ListCase[];
}

/** Deep paging: the first page, and the last id of the 100th (the 5,000th newest with pages of 50). */
export interface DeepPaging {
  pages: number;
  firstPage: string[];
  lastId: string;
  /** The cursor of the last page (the last id of the one before), for EXPLAIN. */
  lastCursor: string;
}

export interface MessageItem {
  id: string;
  to: string;
  status: string;
  externalId: string | null;
  clientId: string | null;
  tags: string[];
  createdAt: string;
}

const DAY = 86_400_000;
/** How many messages a tag search reads per page. */
const SCAN = SCAN_BUDGET;
const SAMPLES = 100;
const WINDOW_STATUSES = ['DELIVERED', 'BOUNCED', 'FAILED'] as const;

/** The first characters of every id made at `ms` (src/shared/ids.ts): ids sort by them. */
const idPrefix = messageIdFloor;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function listQuery(params: ListParams, limit: number): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
  query.set('limit', String(limit));
  return `/emails?${query.toString()}`;
}

async function ids(db: Database, where: string, params: unknown[], limit: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(`SELECT id FROM messages WHERE account_id = $1 AND ${where} ORDER BY id DESC LIMIT ${limit}`, params);
  return rows.map((row) => row.id);
}

/**
 * The recipients, externalIds and clientIds (the first ten) of the first messages after 100
 * moments spread over the 90 days (so about half the externalIds are an order's, one message, and
 * half a subscriber's, several; a clientId has a fiftieth of a tenth of all messages), and ten
 * one-week windows, each with one of three statuses.
 */
export async function planScenarios(db: Database, accountId: number, firstMs: number, limit: number, pages: number): Promise<{ scenarios: Scenario[]; deep: DeepPaging }> {
  const [newest] = await db.query<{ id: string; created_at: Date }>('SELECT id, created_at FROM messages WHERE account_id = $1 ORDER BY id DESC LIMIT 1', [accountId]);
  if (!newest || newest.id.slice(0, 10) !== idPrefix(newest.created_at.getTime())) throw new Error(`the newest message's id ${newest?.id} does not begin with its creation time ${newest?.created_at.toISOString()}`);
  const addresses = new Set<string>();
  const externalIds = new Set<string>();
  const clientIds = new Set<string>();
  for (let i = 0; i < SAMPLES; i++) {
    const at = firstMs + Math.floor(((i + 0.5) * SPAN_MS) / SAMPLES);
    const rows = await db.query<{ to_address: string; external_id: string | null; client_id: string | null }>(
      'SELECT to_address, external_id, client_id FROM messages WHERE account_id = $1 AND id >= $2 ORDER BY id LIMIT 10', [accountId, idPrefix(at)]);
    if (rows[0]) addresses.add(rows[0].to_address);
    const withId = rows.find((row) => row.external_id !== null);
    if (withId) externalIds.add(withId.external_id!);
    const client = rows.find((row) => row.client_id !== null);
    if (client && clientIds.size < 10) clientIds.add(client.client_id!);
  }
  if (addresses.size === 0 || externalIds.size === 0 || clientIds.size === 0) throw new Error('the generated messages have no recipients, externalIds or clientIds to search for');

  const byTo: ListCase[] = [];
  for (const to of addresses) byTo.push({ params: { to }, expected: await ids(db, 'to_address = $2', [accountId, to], limit) });
  const byExternalId: ListCase[] = [];
  for (const externalId of externalIds) byExternalId.push({ params: { externalId }, expected: await ids(db, 'external_id = $2', [accountId, externalId], limit) });
  const byClientId: ListCase[] = [];
  for (const clientId of clientIds) byClientId.push({ params: { clientId }, expected: await ids(db, 'client_id = $2', [accountId, clientId], limit) });
  const windows: ListCase[] = [];
  for (let i = 0; i < 10; i++) {
    const from = Math.floor(firstMs / DAY) * DAY + (1 + i * 8) * DAY;
    const status = WINDOW_STATUSES[i % WINDOW_STATUSES.length]!;
    // By created_at, as the API defines the range; the id bounds a day wider on each side only
    // keep this query from reading the whole table (ids begin with their creation time).
    const expected = await ids(db, 'status = $2 AND created_at >= $3 AND created_at < $4 AND id >= $5 AND id < $6',
      [accountId, status, new Date(from), new Date(from + 7 * DAY), idPrefix(from - DAY), idPrefix(from + 8 * DAY)], limit);
    windows.push({ params: { status, after: day(from), before: day(from + 7 * DAY) }, expected });
  }
  // Tag searches read the newest SCAN messages and keep those with the tag: a common tag fills the
  // page, a rare one may not, and a tag nobody has reads all SCAN for nothing (the worst case).
  const newestScan = await ids(db, 'true', [accountId], SCAN);
  const byTag: ListCase[] = [];
  for (const tag of ['newsletter', 'tag-07', 'receipt', 'no-such-tag']) {
    const matching = (await ids(db, 'tags @> $2::jsonb AND id >= $3', [accountId, JSON.stringify([tag]), newestScan.at(-1)!], limit));
    const nextCursor = matching.length === limit ? matching.at(-1)! : newestScan.length === SCAN ? newestScan.at(-1)! : null;
    byTag.push({ params: { tag }, expected: matching, nextCursor });
  }
  const firstPage = await ids(db, 'true', [accountId], limit);
  const deepRows = await db.query<{ id: string }>(
    `SELECT id FROM messages WHERE account_id = $1 ORDER BY id DESC OFFSET ${limit * (pages - 1) - 1} LIMIT ${limit + 1}`, [accountId]);
  if (deepRows.length < limit + 1) throw new Error(`fewer than ${pages} pages of ${limit} messages: generate more (--messages)`);
  return {
    scenarios: [
      { key: 'first', name: 'first page', cases: [{ params: {}, expected: firstPage }] },
      { key: 'to', name: `to (${addresses.size} recipients)`, cases: byTo },
      { key: 'externalId', name: `externalId (${externalIds.size} ids)`, cases: byExternalId },
      { key: 'window', name: 'status + one week (after, before)', cases: windows },
      { key: 'clientId', name: `clientId (${clientIds.size} of 50)`, cases: byClientId },
      { key: 'tag', name: 'tag (40%, 2%, 15%, none: a bounded walk)', cases: byTag },
    ],
    deep: { pages, firstPage, lastId: deepRows.at(-1)!.id, lastCursor: deepRows[0]!.id },
  };
}

/** What is wrong with an answer of GET /emails for `want` (null when it is exactly right). */
export function answerProblem(body: string, want: ListCase, limit: number): string | null {
  const page = JSON.parse(body) as { data: MessageItem[]; meta: { pagination?: { nextCursor: string | null } } };
  const got = page.data.map((item) => item.id);
  if (got.join() !== want.expected.join()) {
    return `ids differ: got ${got.length} (${got.slice(0, 3).join(', ')}, ...), expected ${want.expected.length} (${want.expected.slice(0, 3).join(', ')}, ...)`;
  }
  const { to, externalId, clientId, status, after, before, tag } = want.params;
  for (const item of page.data) {
    if (to !== undefined && item.to !== to) return `${item.id} is to ${item.to}, not ${to}`;
    if (externalId !== undefined && item.externalId !== externalId) return `${item.id} has externalId ${item.externalId}, not ${externalId}`;
    if (clientId !== undefined && item.clientId !== clientId) return `${item.id} has clientId ${item.clientId}, not ${clientId}`;
    if (status !== undefined && item.status !== status) return `${item.id} is ${item.status}, not ${status}`;
    if (tag !== undefined && !item.tags.includes(tag)) return `${item.id} has tags ${item.tags.join(',')}, not ${tag}`;
    if (after !== undefined && item.createdAt < after) return `${item.id} was created at ${item.createdAt}, before ${after}`;
    if (before !== undefined && item.createdAt >= before) return `${item.id} was created at ${item.createdAt}, not before ${before}`;
  }
  const next = page.meta.pagination?.nextCursor ?? null;
  const wantNext = want.nextCursor !== undefined ? want.nextCursor : want.expected.length === limit ? want.expected.at(-1)! : null;
  return next === wantNext ? null : `nextCursor ${next}, expected ${wantNext}`;
}

const list = sqlFile(new URL('../../src/sending/messages.sql', import.meta.url), ['listMessages']).listMessages;

/**
 * EXPLAIN ANALYZE of the product's own list query (the parameters in src/sending/read.ts's order)
 * for `params`: the plan's nodes, the rows its filters threw away, and the execution time.
 */
export async function explainList(db: Database, accountId: number, params: ListParams, limit: number): Promise<string[]> {
  const after = params.after ? new Date(params.after) : null;
  const before = params.before ? new Date(params.before) : null;
  const values = [
    accountId, params.status ?? null, params.externalId ?? null, params.clientId ?? null, null, params.to ?? null, null, after, before, params.cursor ?? null, limit,
    params.tag === undefined ? limit : SCAN, params.tag === undefined ? null : JSON.stringify([params.tag]),
    after && messageIdFloor(after.getTime()), before && messageIdFloor(before.getTime()),
  ];
  const rows = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${list}`, values);
  const lines = rows.map((row) => row['QUERY PLAN']);
  // The nodes that read messages or sort them, what their filters threw away, the whole plan's buffers and time.
  const buffers = lines.find((line) => line.trim().startsWith('Buffers:'));
  const kept = lines.filter((line) => /( on messages m|Sort|Rows Removed by Filter|Execution Time)/.test(line) && !/Sort (Key|Method)/.test(line));
  return [...kept, ...(buffers ? [`Buffers (whole plan): ${buffers.trim().slice('Buffers: '.length)}`] : [])]
    .map((line) => line.trim().replace(/^->\s+/, '').replace(/\s+\(cost=[^)]*\)/, ''));
}
