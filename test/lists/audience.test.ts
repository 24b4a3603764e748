import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sqlFile } from '../../src/db/sql.js';
import { selectAudience, type AudiencePage, type AudienceSpec } from '../../src/lists/audience.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { addContacts, createList, type MemberBody } from '../helpers/lists.js';

/**
 * selectAudience, the query campaigns will read their recipients with: the subscribed members
 * of some lists, once each, minus the members of exclusion lists and the suppressed addresses,
 * in contact id order, page by page from any contact id.
 */
let app: TestApp;
let accountId: number;
const audienceSql = sqlFile(new URL('../../src/lists/audience.sql', import.meta.url), ['selectAudience'] as const).selectAudience;

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
  accountId = (await app.mailroom.db.query<{ id: number }>("SELECT id FROM accounts WHERE name = 'default'"))[0]!.id;
});
after(async () => app?.stop());

/** Every page from the start, `limit` at a time. */
async function readAll(spec: AudienceSpec, limit: number): Promise<{ pages: AudiencePage[]; emails: string[]; suppressed: string[]; excluded: number }> {
  const pages: AudiencePage[] = [];
  let after = 0;
  for (;;) {
    const page = await selectAudience(app.mailroom.db, accountId, spec, after, limit);
    pages.push(page);
    if (page.next === null) break;
    assert.ok(page.next > after, 'pages move forward');
    after = page.next;
  }
  return {
    pages,
    emails: pages.flatMap((page) => page.contacts.map((contact) => contact.email)),
    suppressed: pages.flatMap((page) => page.suppressed.map((contact) => `${contact.email}:${contact.reason}`)),
    excluded: pages.reduce((sum, page) => sum + page.excluded, 0),
  };
}

test('subscribed members of the lists, once each, minus exclusions and suppressions, in id order', async () => {
  const news = await createList(app, { name: 'News' });
  const offers = await createList(app, { name: 'Offers', optIn: 'double' });
  const exclude = await createList(app, { name: 'Do not mail' });
  const ids = new Map<string, number>();
  const add = async (listId: string, contacts: Record<string, unknown>[]) => {
    for (const entry of (await addContacts(app, listId, contacts)).data) if ('data' in entry) ids.set(entry.data.email, (entry.data as MemberBody).id);
  };
  await add(news.id, [
    { email: 'a@example.com', name: 'A', attributes: { city: 'Oslo' } }, { email: 'both@example.com' }, { email: 'pending@example.com', status: 'unconfirmed' },
    { email: 'left@example.com', status: 'unsubscribed' }, { email: 'bounced@example.com' }, { email: 'excluded@example.com' },
  ]);
  await add(offers.id, [{ email: 'both@example.com', status: 'subscribed' }, { email: 'g@example.com', status: 'subscribed' }, { email: 'offers-pending@example.com' }, { email: 'left@example.com', status: 'subscribed' }]);
  // On the exclusion list whatever its status there.
  await add(exclude.id, [{ email: 'excluded@example.com', status: 'unsubscribed' }]);
  await app.mailroom.db.query("INSERT INTO suppressions (account_id, address, reason, created_at) VALUES ($1, 'bounced@example.com', 'HARD_BOUNCE', now())", [accountId]);

  const spec = { lists: [news.id, offers.id], excludeLists: [exclude.id] };
  const expected = ['a@example.com', 'both@example.com', 'g@example.com', 'left@example.com'].sort((x, y) => ids.get(x)! - ids.get(y)!);
  for (const limit of [1, 2, 3, 100]) {
    const all = await readAll(spec, limit);
    assert.deepEqual(all.emails, expected, `pages of ${limit}`);
    assert.deepEqual(all.suppressed, ['bounced@example.com:HARD_BOUNCE']);
    assert.equal(all.excluded, 1);
    const contactIds = all.pages.flatMap((page) => page.contacts.map((contact) => contact.id));
    assert.deepEqual(contactIds, [...contactIds].sort((x, y) => x - y));
  }
  const first = (await selectAudience(app.mailroom.db, accountId, spec, 0, 100)).contacts.find((contact) => contact.email === 'a@example.com');
  assert.deepEqual(first, { id: ids.get('a@example.com'), email: 'a@example.com', name: 'A', attributes: { city: 'Oslo' } });

  // From any contact id on: a campaign resumes after the last one it handled.
  const resumed = await selectAudience(app.mailroom.db, accountId, spec, ids.get(expected[1]!)!, 100);
  assert.deepEqual(resumed.contacts.map((contact) => contact.email), expected.slice(2));
  assert.equal(resumed.next, null);

  assert.deepEqual((await readAll({ lists: [news.id] }, 2)).emails, ['a@example.com', 'both@example.com', 'excluded@example.com'].sort((x, y) => ids.get(x)! - ids.get(y)!));
  assert.deepEqual((await readAll({ lists: [] }, 10)).emails, []);

  // Taken off the suppression list, mailable again; unsubscribed, not.
  await app.mailroom.db.query("DELETE FROM suppressions WHERE address = 'bounced@example.com'");
  await app.api(`/lists/${news.id}/contacts/a@example.com`, { method: 'PATCH', json: { status: 'unsubscribed' } });
  const now = await readAll(spec, 100);
  assert.ok(now.emails.includes('bounced@example.com') && !now.emails.includes('a@example.com'));
});

test('another account\'s lists select nothing', async () => {
  const otherKey = await otherAccountKey(app, 'other-co');
  const theirs = await createList(app, { name: 'Theirs' }, otherKey);
  await app.api(`/lists/${theirs.id}/contacts`, { method: 'POST', key: otherKey, json: { email: 'theirs@example.com' } });
  const page = await selectAudience(app.mailroom.db, accountId, { lists: [theirs.id] }, 0, 100);
  assert.deepEqual([page.contacts, page.suppressed, page.excluded, page.next], [[], [], 0, null]);
});

test('a page costs the same at any depth of a large list: its plan reads the key from the cursor', async () => {
  const big = await createList(app, { name: 'Big' });
  const total = 5_000;
  for (let start = 0; start < total; start += 1000) {
    await addContacts(app, big.id, Array.from({ length: 1000 }, (_, i) => ({ email: `member${start + i}@example.com`, ...((start + i) % 10 === 0 ? { status: 'unsubscribed' } : {}) })));
  }
  const all = await readAll({ lists: [big.id] }, 1000);
  assert.equal(all.emails.length, total * 0.9);
  assert.equal(new Set(all.emails).size, all.emails.length);
  // Each page reads its own rows, not the list's: every list is scanned along its key from the
  // cursor, LIMIT rows at most (no sort of the list's members, no bitmap of all of them).
  await app.mailroom.db.query('ANALYZE list_members');
  const plan = (await app.mailroom.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${audienceSql}`, [accountId, [big.id], [], 2500, 100, new Date()]))
    .map((row) => row['QUERY PLAN']).join('\n');
  assert.match(plan, /Index Scan using list_members_pkey on list_members m\b/, plan);
  assert.doesNotMatch(plan, /(Bitmap Heap|Seq) Scan on (list_members|contacts)/, plan);
});
