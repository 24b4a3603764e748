import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { addContacts, assertCountsExact, createList, json, members, type ErrorBody, type ListBody, type MemberBody } from '../helpers/lists.js';

/**
 * Lists and their members through the API: CRUD, one contact or a thousand per call with
 * partial failures, the status rules (a re-add never unconfirms), the suppression list shown
 * over the list status, look-up and erasure across lists, and counters that stay exact.
 */
let app: TestApp;
let otherKey: string;

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
  otherKey = await otherAccountKey(app, 'other-co');
});
after(async () => app?.stop());

const patch = (path: string, body: unknown) => app.api(path, { method: 'PATCH', json: body });

test('list CRUD: ids, an unguessable token, pages, changes, deletion with the members', async () => {
  const list = await createList(app, { name: '  Weekly news ', description: 'Every Monday\nfrom us', optIn: 'double', fromAddress: 'News@Example.com', fromName: 'The News' });
  assert.match(list.id, /^list_[0-9a-z]{22}$/);
  assert.match(list.token, /^[A-Za-z0-9_-]{32}$/);
  assert.deepEqual([list.name, list.optIn, (list as unknown as { fromAddress: string }).fromAddress], ['Weekly news', 'double', 'news@example.com']);
  assert.deepEqual(list.counts, { total: 0, unconfirmed: 0, subscribed: 0, unsubscribed: 0 });
  const second = await createList(app, { name: 'Second' });
  assert.equal(second.optIn, 'single');
  assert.notEqual(second.token, list.token);

  const read = await json<{ data: ListBody }>(await app.api(`/lists/${list.id}`));
  assert.deepEqual([read.data.mailable, read.data.suppressed], [0, { total: 0, bounced: 0, complained: 0, unsubscribed: 0, suppressed: 0 }]);

  const changed = await json<{ data: ListBody & { description: string | null; fromName: string | null } }>(await patch(`/lists/${list.id}`, { name: 'Renamed', description: null, fromName: null }));
  assert.deepEqual([changed.data.name, changed.data.description, changed.data.fromName, changed.data.optIn], ['Renamed', null, null, 'double']);
  for (const body of [{}, { name: '' }, { name: 'two\nlines' }, { optIn: 'triple' }, { fromAddress: 'not an address' }, { description: 'bidi \u202e' }]) {
    await json<ErrorBody>(await patch(`/lists/${list.id}`, body), 400);
  }
  await json(await patch('/lists/list_0000000000000000000000', { name: 'x' }), 404);
  await json(await app.api('/lists', { method: 'POST', json: { name: 'x', optIn: 'none' } }), 400);

  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: ListBody[]; meta: { pagination: { nextCursor: string | null } } } = await json(await app.api(`/lists?limit=1${cursor ? `&cursor=${cursor}` : ''}`));
    ids.push(...page.data.map((entry) => entry.id));
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  assert.deepEqual(ids.slice(0, 2), [second.id, list.id], 'newest first');
  await json(await app.api('/lists?cursor=nope'), 400);

  await addContacts(app, second.id, [{ email: 'gone1@example.com' }, { email: 'gone2@example.com' }]);
  await addContacts(app, list.id, [{ email: 'gone1@example.com' }]);
  const deleted = await json<{ data: { id: string; members: number; deleted: boolean } }>(await app.api(`/lists/${second.id}`, { method: 'DELETE' }));
  assert.deepEqual([deleted.data.members, deleted.data.deleted], [2, true]);
  await json(await app.api(`/lists/${second.id}`), 404);
  await json(await app.api(`/lists/${second.id}`, { method: 'DELETE' }), 404);
  const contact = await json<{ data: { lists: { listId: string }[] } }>(await app.api('/contacts/gone1@example.com'));
  assert.deepEqual(contact.data.lists.map((entry) => entry.listId), [list.id], 'the contact stays, with its other lists');
  assert.equal((await app.mailroom.db.query('SELECT 1 FROM list_members m JOIN contacts c ON c.id = m.contact_id WHERE c.email = $1', ['gone2@example.com'])).length, 0);
});

test('one contact: normalised, added then updated or unchanged, attributes merged, refusals', async () => {
  const list = await createList(app, { name: 'Singles' });
  const first = await json<{ data: MemberBody; result: string }>(await app.api(`/lists/${list.id}/contacts`, { method: 'POST', json: { email: ' Ann@Example.COM ', name: 'Ann', attributes: { city: 'Oslo', age: 41, vip: true, note: null } } }), 201);
  assert.deepEqual(
    [first.result, first.data.email, first.data.name, first.data.attributes, first.data.status, first.data.listStatus, first.data.suppressed],
    ['added', 'ann@example.com', 'Ann', { city: 'Oslo', age: 41, vip: true, note: null }, 'subscribed', 'subscribed', false],
  );
  assert.ok(first.data.subscribedAt);
  const same = await json<{ data: MemberBody; result: string }>(await app.api(`/lists/${list.id}/contacts`, { method: 'POST', json: { email: 'ann@example.com', attributes: { city: 'Oslo' } } }));
  assert.deepEqual([same.result, same.data.updatedAt, same.data.name], ['unchanged', first.data.updatedAt, 'Ann'], 'nothing given differs: nothing written');
  const merged = await json<{ data: MemberBody; result: string }>(await app.api(`/lists/${list.id}/contacts`, { method: 'POST', json: { email: 'ANN@example.com', attributes: { city: 'Bergen', plan: 'pro' } } }));
  assert.deepEqual([merged.result, merged.data.attributes], ['updated', { city: 'Bergen', age: 41, vip: true, note: null, plan: 'pro' }]);
  assert.equal(merged.data.id, first.data.id);

  const refusals: [unknown, string][] = [
    [{ email: 'not-an-address' }, 'email'], [{ email: 'a\u200b@example.com' }, 'email'], [{}, 'email'], [{ email: 'x@example.com', name: 'two\nlines' }, 'name'],
    [{ email: 'x@example.com', status: 'bounced' }, 'status'], [{ email: 'x@example.com', attributes: [1] }, 'attributes'],
    [{ email: 'x@example.com', attributes: { 'bad name!': 1 } }, 'attributes.bad name!'], [{ email: 'x@example.com', attributes: { email: 'y' } }, 'attributes.email'],
    [{ email: 'x@example.com', attributes: { list: [1] } }, 'attributes.list'], [{ email: 'x@example.com', attributes: { big: 'x'.repeat(9000) } }, 'attributes'],
    [{ email: 'x@example.com', attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])) }, 'attributes'],
    [{ email: 'x@example.com', other: 1 }, 'other'], [{ email: 'x@example.com', attributes: { a: 'nul\u0000' } }, 'attributes.a'],
  ];
  for (const [body, field] of refusals) {
    const refused = await json<ErrorBody>(await app.api(`/lists/${list.id}/contacts`, { method: 'POST', json: body }), 400);
    assert.ok(refused.error.details.some((detail) => detail.field === field), `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(refused.error.details)}`);
  }
  await json(await app.api('/lists/list_0000000000000000000000/contacts', { method: 'POST', json: { email: 'x@example.com' } }), 404);
  assert.equal((await members(app, list.id)).length, 1, 'nothing refused was stored');
});

test('status rules: defaults per opt-in mode, a re-add without a status keeps it, a status given is taken', async () => {
  const single = await createList(app, { name: 'Single opt-in' });
  const double = await createList(app, { name: 'Double opt-in', optIn: 'double' });
  const onDouble = await addContacts(app, double.id, [{ email: 'new@example.com' }, { email: 'vouched@example.com', status: 'subscribed' }]);
  assert.deepEqual(onDouble.data.map((entry) => 'data' in entry && [entry.data.listStatus, entry.data.subscribedAt !== null]), [['unconfirmed', false], ['subscribed', true]]);

  // Re-adding a subscribed contact without a status never turns it unconfirmed (the rule that
  // keeps anyone from unsubscribing someone else by signing them up again).
  const again = await addContacts(app, double.id, [{ email: 'vouched@example.com' }, { email: 'vouched@example.com', name: 'V' }]);
  assert.deepEqual(again.data.map((entry) => 'data' in entry && [entry.result, entry.data.listStatus]), [['unchanged', 'subscribed'], ['updated', 'subscribed']]);

  const onSingle = await addContacts(app, single.id, [{ email: 'new@example.com' }]);
  assert.equal((onSingle.data[0] as { data: MemberBody }).data.listStatus, 'subscribed', 'a contact on two lists has a status on each');

  const unsubscribed = await json<{ data: MemberBody }>(await patch(`/lists/${single.id}/contacts/new@example.com`, { status: 'unsubscribed' }));
  assert.deepEqual([unsubscribed.data.listStatus, unsubscribed.data.unsubscribedAt !== null], ['unsubscribed', true]);
  const readded = await addContacts(app, single.id, [{ email: 'new@example.com' }]);
  assert.deepEqual(readded.data.map((entry) => 'data' in entry && [entry.result, entry.data.listStatus]), [['unchanged', 'unsubscribed']], 'an unsubscribed member is not resubscribed quietly');
  const resubscribed = await addContacts(app, single.id, [{ email: 'new@example.com', status: 'subscribed' }]);
  assert.deepEqual(resubscribed.data.map((entry) => 'data' in entry && [entry.result, entry.data.listStatus]), [['updated', 'subscribed']]);
  const onDoubleStill = await json<{ data: MemberBody }>(await app.api(`/lists/${double.id}/contacts/new@example.com`));
  assert.equal(onDoubleStill.data.listStatus, 'unconfirmed');
  await assertCountsExact(app.mailroom.db);
});

test('bulk: up to 1,000 per call, one result each in order, the valid ones stored whatever the others', async () => {
  const list = await createList(app, { name: 'Bulk' });
  const contacts: Record<string, unknown>[] = Array.from({ length: 1000 }, (_, i) => (i % 100 === 7 ? { email: `broken-${i}` } : { email: `bulk${i}@example.com`, attributes: { n: i } }));
  // An address given twice in one call is applied in order: the second is an update.
  contacts[999] = { email: 'bulk0@example.com', name: 'Zero' };
  const answer = await addContacts(app, list.id, contacts);
  assert.equal(answer.data.length, 1000);
  assert.deepEqual(answer.counts, { added: 989, updated: 1, unchanged: 0, refused: 10 });
  answer.data.forEach((entry, i) => {
    if (i % 100 === 7) assert.deepEqual((entry as ErrorBody).error.details.map((detail) => detail.field), [`contacts[${i}].email`]);
    else if (i === 999) assert.deepEqual([(entry as { result: string }).result, (entry as { data: MemberBody }).data.name], ['updated', 'Zero']);
    else assert.equal((entry as { data: MemberBody }).data.email, `bulk${i}@example.com`);
  });
  const stored = await members(app, list.id);
  assert.equal(stored.length, 989);
  assert.deepEqual(stored.map((member) => member.id), [...stored.map((member) => member.id)].sort((a, b) => a - b), 'pages in contact id order');

  for (const body of [{ contacts: [] }, { contacts: Array.from({ length: 1001 }, (_, i) => ({ email: `x${i}@example.com` })) }, { contacts: {} }, { contacts: [{ email: 'a@example.com' }], extra: 1 }]) {
    await json<ErrorBody>(await app.api(`/lists/${list.id}/contacts`, { method: 'POST', json: body }), 400);
  }
  const allRefused = await addContacts(app, list.id, [{ email: 'nope' }]);
  assert.deepEqual(allRefused.counts, { added: 0, updated: 0, unchanged: 0, refused: 1 });

  const removed = await json<{ data: ({ contact: string | number; removed: boolean } | ErrorBody)[]; removed: number }>(await app.api(`/lists/${list.id}/contacts/remove`, {
    method: 'POST', json: { contacts: ['bulk1@example.com', stored[2]!.id, 'bulk1@example.com', 'never@example.com', 'not an address', 123456789] },
  }));
  assert.deepEqual(removed.data.map((entry) => ('error' in entry ? 'error' : entry.removed)), [true, true, false, false, 'error', false]);
  assert.equal(removed.removed, 2);
  assert.equal((await members(app, list.id)).length, 987);
  await json(await app.api(`/lists/${list.id}/contacts/bulk3@example.com`, { method: 'DELETE' }));
  await json(await app.api(`/lists/${list.id}/contacts/bulk3@example.com`, { method: 'DELETE' }), 404);
  await json(await app.api(`/lists/${list.id}/contacts/bulk3@example.com`), 404);
  assert.equal((await json<{ data: { lists: unknown[] } }>(await app.api('/contacts/bulk3@example.com'))).data.lists.length, 0, 'taken off the list, the contact stays');
  await assertCountsExact(app.mailroom.db);
});

test('PATCH: name and attributes are the contact\'s (replaced), the status this list\'s', async () => {
  const a = await createList(app, { name: 'Patch A' });
  const b = await createList(app, { name: 'Patch B' });
  const added = await addContacts(app, a.id, [{ email: 'pat@example.com', name: 'Pat', attributes: { x: 1, y: 2 } }]);
  await addContacts(app, b.id, [{ email: 'pat@example.com' }]);
  const id = (added.data[0] as { data: MemberBody }).data.id;
  const changed = await json<{ data: MemberBody }>(await patch(`/lists/${a.id}/contacts/${id}`, { name: null, attributes: { z: 'only' }, status: 'unconfirmed' }));
  assert.deepEqual([changed.data.name, changed.data.attributes, changed.data.listStatus], [null, { z: 'only' }, 'unconfirmed']);
  const onB = await json<{ data: MemberBody }>(await app.api(`/lists/${b.id}/contacts/pat@example.com`));
  assert.deepEqual([onB.data.name, onB.data.attributes, onB.data.listStatus], [null, { z: 'only' }, 'subscribed']);
  for (const body of [{}, { status: 'bounced' }, { attributes: { a: [1] } }, { name: 7 }, { other: 1 }]) await json<ErrorBody>(await patch(`/lists/${a.id}/contacts/${id}`, body), 400);
  await json(await patch(`/lists/${a.id}/contacts/nobody@example.com`, { name: 'x' }), 404);
  await json(await patch(`/lists/${a.id}/contacts/not-an-address`, { name: 'x' }), 400);
});

test('the suppression list shows over the list status, is counted apart and never mailable', async () => {
  const list = await createList(app, { name: 'Overlay' });
  const addresses = ['ok@example.com', 'hard@example.com', 'spam@example.com', 'unsub@example.com', 'manual@example.com', 'pending@example.com', 'left@example.com'];
  await addContacts(app, list.id, addresses.map((email) => ({ email, ...(email.startsWith('pending') ? { status: 'unconfirmed' } : email.startsWith('left') ? { status: 'unsubscribed' } : {}) })));
  const account = (await app.mailroom.db.query<{ id: number }>("SELECT id FROM accounts WHERE name = 'default'"))[0]!.id;
  await app.mailroom.db.query(
    `INSERT INTO suppressions (account_id, address, reason, created_at) VALUES ($1, 'hard@example.com', 'HARD_BOUNCE', now()), ($1, 'spam@example.com', 'COMPLAINT', now()),
     ($1, 'unsub@example.com', 'UNSUBSCRIBE', now()), ($1, 'manual@example.com', 'MANUAL', now()), ($1, 'pending@example.com', 'HARD_BOUNCE', now())`, [account],
  );
  const shown = Object.fromEntries((await members(app, list.id)).map((member) => [member.email, [member.status, member.listStatus, member.suppression?.reason ?? null]]));
  assert.deepEqual(shown, {
    'ok@example.com': ['subscribed', 'subscribed', null], 'hard@example.com': ['bounced', 'subscribed', 'HARD_BOUNCE'], 'spam@example.com': ['complained', 'subscribed', 'COMPLAINT'],
    'unsub@example.com': ['unsubscribed', 'subscribed', 'UNSUBSCRIBE'], 'manual@example.com': ['suppressed', 'subscribed', 'MANUAL'],
    'pending@example.com': ['bounced', 'unconfirmed', 'HARD_BOUNCE'], 'left@example.com': ['unsubscribed', 'unsubscribed', null],
  });
  const byStatus = async (status: string) => (await members(app, list.id, `&status=${status}`)).map((member) => member.email).sort();
  assert.deepEqual(await byStatus('subscribed'), ['ok@example.com']);
  assert.deepEqual(await byStatus('bounced'), ['hard@example.com', 'pending@example.com']);
  assert.deepEqual(await byStatus('complained'), ['spam@example.com']);
  assert.deepEqual(await byStatus('unsubscribed'), ['left@example.com', 'unsub@example.com']);
  assert.deepEqual(await byStatus('suppressed'), ['manual@example.com']);
  assert.deepEqual(await byStatus('unconfirmed'), []);
  await json(await app.api(`/lists/${list.id}/contacts?status=nope`), 400);
  // Paged one at a time, a mixed filter still comes in contact order, each once.
  const paged: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: MemberBody[]; meta: { pagination: { nextCursor: string | null } } } = await json(await app.api(`/lists/${list.id}/contacts?status=unsubscribed&limit=1${cursor ? `&cursor=${cursor}` : ''}`));
    paged.push(...page.data.map((member) => member.email));
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  const ids = Object.fromEntries((await members(app, list.id)).map((member) => [member.email, member.id]));
  assert.deepEqual(paged, ['unsub@example.com', 'left@example.com'].sort((x, y) => ids[x]! - ids[y]!));

  const detail = await json<{ data: ListBody }>(await app.api(`/lists/${list.id}`));
  assert.deepEqual(detail.data.counts, { total: 7, unconfirmed: 1, subscribed: 5, unsubscribed: 1 });
  assert.deepEqual(detail.data.suppressed, { total: 5, bounced: 2, complained: 1, unsubscribed: 1, suppressed: 1 });
  assert.equal(detail.data.mailable, 1);

  const contact = await json<{ data: { suppressed: boolean; suppression: { reason: string }; lists: { status: string; listStatus: string }[] } }>(await app.api('/contacts/HARD@example.com'));
  assert.deepEqual([contact.data.suppressed, contact.data.suppression.reason, contact.data.lists.map((entry) => [entry.status, entry.listStatus])], [true, 'HARD_BOUNCE', [['bounced', 'subscribed']]]);
  // Off the suppression list, the member is what its list says again.
  await json(await app.api('/suppressions/hard@example.com', { method: 'DELETE' }));
  assert.equal((await json<{ data: MemberBody }>(await app.api(`/lists/${list.id}/contacts/hard@example.com`))).data.status, 'subscribed');
});

test('a contact across lists, looked up by address or id, and erased from all of them', async () => {
  const lists = [await createList(app, { name: 'X1' }), await createList(app, { name: 'X2', optIn: 'double' }), await createList(app, { name: 'X3' })];
  for (const list of lists.slice(0, 2)) await addContacts(app, list.id, [{ email: 'many@example.com', name: 'Many', attributes: { k: 'v' } }]);
  const byEmail = await json<{ data: { id: number; email: string; lists: { listId: string; listName: string; listStatus: string }[] } }>(await app.api('/contacts/Many@Example.com'));
  assert.deepEqual(byEmail.data.lists.map((entry) => [entry.listId, entry.listName, entry.listStatus]).sort(), [[lists[0]!.id, 'X1', 'subscribed'], [lists[1]!.id, 'X2', 'unconfirmed']].sort());
  const byId = await json<{ data: { email: string } }>(await app.api(`/contacts/${byEmail.data.id}`));
  assert.equal(byId.data.email, 'many@example.com');
  await json(await app.api('/contacts/nobody@example.com'), 404);
  await json(await app.api('/contacts/999999999'), 404);
  await json(await app.api('/contacts/no%20address'), 400);

  const erased = await json<{ data: { lists: number; deleted: boolean } }>(await app.api('/contacts/many@example.com', { method: 'DELETE' }));
  assert.deepEqual([erased.data.lists, erased.data.deleted], [2, true]);
  await json(await app.api('/contacts/many@example.com'), 404);
  for (const list of lists.slice(0, 2)) await json(await app.api(`/lists/${list.id}/contacts/many@example.com`), 404);
  const left = await app.mailroom.db.query("SELECT 1 FROM contacts WHERE email = 'many@example.com' UNION ALL SELECT 1 FROM list_members WHERE contact_id = $1", [byEmail.data.id]);
  assert.equal(left.length, 0, 'nothing of the contact is left');
  await assertCountsExact(app.mailroom.db);
});

test('tenant isolation: another account gets 404 on every route with real ids of this one', async () => {
  const list = await createList(app, { name: 'Private' });
  const added = await addContacts(app, list.id, [{ email: 'private@example.com', name: 'Secret Name' }]);
  const contactId = (added.data[0] as { data: MemberBody }).data.id;
  const job = await json<{ data: { id: string } }>(await app.api(`/lists/${list.id}/imports`, { method: 'POST', body: 'email\nimported@example.com\n', headers: { 'content-type': 'text/csv' } }), 202);
  const as = (path: string, init: RequestInit & { json?: unknown } = {}) => app.api(path, { ...init, key: otherKey });
  const calls: [string, RequestInit & { json?: unknown }][] = [
    [`/lists/${list.id}`, {}], [`/lists/${list.id}`, { method: 'PATCH', json: { name: 'taken' } }], [`/lists/${list.id}`, { method: 'DELETE' }],
    [`/lists/${list.id}/contacts`, {}], [`/lists/${list.id}/contacts`, { method: 'POST', json: { email: 'intruder@example.com' } }],
    [`/lists/${list.id}/contacts`, { method: 'POST', json: { contacts: [{ email: 'intruder@example.com' }] } }],
    [`/lists/${list.id}/contacts/private@example.com`, {}], [`/lists/${list.id}/contacts/${contactId}`, {}],
    [`/lists/${list.id}/contacts/${contactId}`, { method: 'PATCH', json: { name: 'x' } }], [`/lists/${list.id}/contacts/${contactId}`, { method: 'DELETE' }],
    [`/lists/${list.id}/contacts/remove`, { method: 'POST', json: { contacts: [contactId] } }], [`/lists/${list.id}/contacts.csv`, {}],
    [`/lists/${list.id}/imports`, {}], [`/lists/${list.id}/imports`, { method: 'POST', body: 'email\nintruder@example.com\n', headers: { 'content-type': 'text/csv' } }],
    [`/lists/${list.id}/imports/${job.data.id}`, {}], [`/lists/${list.id}/imports/${job.data.id}`, { method: 'DELETE' }],
    ['/contacts/private@example.com', {}], [`/contacts/${contactId}`, {}], ['/contacts/private@example.com', { method: 'DELETE' }], [`/contacts/${contactId}`, { method: 'DELETE' }],
  ];
  for (const [path, init] of calls) {
    const response = await as(path, init);
    const text = await response.text();
    assert.equal(response.status, 404, `${init.method ?? 'GET'} ${path}: ${text}`);
    // (An address in the path comes back in the message: it is the caller's own.)
    assert.ok(!text.includes('Secret Name') && !text.includes(list.token) && (path.includes('private@') || !text.includes('private@example.com')), `${path} leaks nothing`);
  }
  const theirs = await json<{ data: ListBody[] }>(await as('/lists'));
  assert.ok(theirs.data.every((entry) => entry.id !== list.id));
  // Their own list of the same address is theirs alone.
  const own = await createList(app, { name: 'Theirs' }, otherKey);
  const mine = await json<{ data: { data: MemberBody }[] }>(await as(`/lists/${own.id}/contacts`, { method: 'POST', json: { contacts: [{ email: 'private@example.com' }] } }));
  assert.notEqual(mine.data[0]!.data.id, contactId);
  assert.equal(mine.data[0]!.data.name, null);
  // Untouched for the owner.
  const still = await json<{ data: MemberBody }>(await app.api(`/lists/${list.id}/contacts/${contactId}`));
  assert.deepEqual([still.data.name, still.data.listStatus], ['Secret Name', 'subscribed']);
  assert.equal((await json<{ data: ListBody }>(await app.api(`/lists/${list.id}`))).data.name, 'Private');
});
