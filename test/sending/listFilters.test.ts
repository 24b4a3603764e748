import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requireAccount } from '../../src/accounts/accounts.js';
import { listMessages, type ListFilter } from '../../src/sending/read.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * GET /emails filtered by tag and by from (issue 18, the console's search): the filters without an
 * index of their own read a bounded walk down the ids per page, so a page may be short and still
 * have a cursor; following the cursors finds every match once, newest first, whatever the budget.
 */
let app: TestApp;
let accountId: number;
const sent: { id: string; tags: string[]; from: string }[] = [];

before(async () => {
  app = await startTestApp({ MAILROOM_TRANSPORT: 'sandbox' });
  accountId = (await requireAccount(app.mailroom.db, 'default')).id;
  for (let i = 0; i < 30; i++) {
    const tags = i % 3 === 0 ? ['receipt', 'shop'] : ['promo'];
    const from = i === 5 ? 'rare@elipackage.com' : 'promo@elipackage.com';
    const response = await app.api('/emails', { method: 'POST', json: { from, to: `buyer${i}@example.com`, subject: `Order ${i}`, text: 'Thanks', tags } });
    assert.equal(response.status, 200, await response.clone().text());
    sent.push({ id: ((await response.json()) as { data: { id: string } }).data.id, tags, from });
  }
});
after(async () => {
  await app.stop();
});

const newestFirst = (ids: string[]) => [...ids].sort().reverse();
const NO_FILTER: ListFilter = { status: null, externalId: null, clientId: null, campaignId: null, to: null, from: null, tag: null, after: null, before: null, cursor: null, limit: 4 };

/** Every page of a filter, following the cursors, with a walk of `budget` messages per page. */
async function allPages(filter: Partial<ListFilter>, budget: number): Promise<{ ids: string[]; pages: number; shortPagesWithCursor: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  let shortPagesWithCursor = 0;
  do {
    const page = await listMessages(app.mailroom.db, accountId, { ...NO_FILTER, ...filter, cursor }, budget);
    ids.push(...page.items.map((item) => item.id));
    if (page.items.length < NO_FILTER.limit && page.nextCursor !== null) shortPagesWithCursor++;
    cursor = page.nextCursor;
    assert.ok(++pages < 100, 'the cursors end');
  } while (cursor !== null);
  return { ids, pages, shortPagesWithCursor };
}

test('GET /emails?tag=: only the tagged messages, newest first, across pages', async () => {
  const receipts = newestFirst(sent.filter((message) => message.tags.includes('receipt')).map((message) => message.id));
  const all = (await (await app.api('/emails?tag=receipt&limit=100')).json()) as { data: { id: string; tags: string[] }[]; meta: { pagination: { nextCursor: string | null } } };
  assert.deepEqual(all.data.map((message) => message.id), receipts);
  assert.ok(all.data.every((message) => message.tags.includes('receipt')));
  assert.equal(all.meta.pagination.nextCursor, null);
  const paged: string[] = [];
  let cursor: string | null = null;
  do {
    const page = (await (await app.api(`/emails?tag=receipt&limit=4${cursor ? `&cursor=${cursor}` : ''}`)).json()) as typeof all;
    paged.push(...page.data.map((message) => message.id));
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  assert.deepEqual(paged, receipts);
  assert.deepEqual((await (await app.api('/emails?tag=shop&status=QUEUED&limit=100')).json() as typeof all).data.every((message) => message.tags.includes('shop')), true);
  assert.equal((await app.api('/emails?tag=')).status, 400, 'an empty tag');
  const other = await otherAccountKey(app, 'tag-intruder');
  assert.deepEqual(((await (await app.api('/emails?tag=receipt', { key: other })).json()) as typeof all).data, [], "another account's tags are not searched");
});

test('a walk cut short by the budget gives short pages with a cursor, and every match once in the end', async () => {
  const receipts = newestFirst(sent.filter((message) => message.tags.includes('receipt')).map((message) => message.id));
  const small = await allPages({ tag: 'receipt' }, 5);
  assert.deepEqual(small.ids, receipts, 'every match once, newest first');
  assert.ok(small.shortPagesWithCursor > 0, 'some page was cut short by the walk');
  const rare = await allPages({ from: 'rare@elipackage.com' }, 5);
  assert.deepEqual(rare.ids, [sent[5]!.id]);
  assert.ok(rare.pages >= 6, `30 messages read 5 at a time (${rare.pages} pages)`);
  const none = await allPages({ tag: 'nothing' }, 5);
  assert.deepEqual(none.ids, []);
  const noneAtOnce = await allPages({ tag: 'nothing' }, 10_000);
  assert.deepEqual([noneAtOnce.ids, noneAtOnce.pages], [[], 1], 'a walk that reached the end has no cursor');
});

test('without from or tag, a page is the walk: full pages have a cursor, the last has none', async () => {
  const everything = await allPages({}, 5);
  assert.deepEqual(everything.ids, newestFirst(sent.map((message) => message.id)));
  assert.equal(everything.shortPagesWithCursor, 0);
});
