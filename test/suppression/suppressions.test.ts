import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { otherAccountKey, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The suppression list through the API: per account, paged, checked, removed, imported and
 * exported as CSV; and what a send to a listed address gets.
 */
let app: TestApp;
let otherKey: string;

before(async () => {
  app = await startTestApp();
  otherKey = await otherAccountKey(app, 'other-co');
});
after(async () => app?.stop());

interface Entry {
  address: string;
  reason: string;
  messageId: string | null;
  createdAt: string;
  added?: boolean;
}

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}

test('add, check, list and remove; addresses are case-insensitive and listed entries are kept', async () => {
  const added = await json<{ data: Entry }>(await app.api('/suppressions', { method: 'POST', json: { address: 'Eve@Example.COM' } }), 201);
  assert.equal(added.data.address, 'eve@example.com');
  assert.equal(added.data.reason, 'MANUAL');
  assert.equal(added.data.added, true);

  const again = await json<{ data: Entry }>(await app.api('/suppressions', { method: 'POST', json: { address: 'eve@example.com', reason: 'COMPLAINT' } }));
  assert.equal(again.data.added, false);
  assert.equal(again.data.reason, 'MANUAL', 'an existing entry keeps its reason');

  const checked = await json<{ data: Entry }>(await app.api('/suppressions/EVE@example.com'));
  assert.equal(checked.data.reason, 'MANUAL');
  await json(await app.api('/suppressions/nobody@example.com'), 404);

  const many = await json<{ data: Entry[] }>(await app.api('/suppressions', {
    method: 'POST', json: { addresses: [{ address: 'p1@example.com' }, { address: 'p2@example.com', reason: 'UNSUBSCRIBE' }, { address: 'p3@example.com' }] },
  }), 201);
  assert.deepEqual(many.data.map((entry) => [entry.address, entry.reason, entry.added]), [['p1@example.com', 'MANUAL', true], ['p2@example.com', 'UNSUBSCRIBE', true], ['p3@example.com', 'MANUAL', true]]);

  // Pages of two until the end: every entry once.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: Entry[]; meta: { pagination: { nextCursor: string | null } } } = await json(await app.api(`/suppressions?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
    assert.ok(page.data.length <= 2);
    seen.push(...page.data.map((entry) => entry.address));
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  assert.deepEqual([...seen].sort(), ['eve@example.com', 'p1@example.com', 'p2@example.com', 'p3@example.com']);
  const unsubscribed = await json<{ data: Entry[] }>(await app.api('/suppressions?reason=UNSUBSCRIBE'));
  assert.deepEqual(unsubscribed.data.map((entry) => entry.address), ['p2@example.com']);

  await json(await app.api('/suppressions', { method: 'POST', json: { address: 'not an address' } }), 400);
  await json(await app.api('/suppressions?cursor=garbage'), 400);

  const removed = await json<{ data: { deleted: boolean } }>(await app.api('/suppressions/p3@example.com', { method: 'DELETE' }));
  assert.equal(removed.data.deleted, true);
  await json(await app.api('/suppressions/p3@example.com', { method: 'DELETE' }), 404);
});

test('suppressions are per account', async () => {
  await json(await app.api('/suppressions', { method: 'POST', json: { address: 'shared@example.com' } }), 201);
  await json(await app.api('/suppressions/shared@example.com', { key: otherKey }), 404);
  const otherList = await json<{ data: Entry[] }>(await app.api('/suppressions', { key: otherKey }));
  assert.deepEqual(otherList.data, []);
  // The other account may still send to it; this one may not.
  const theirs = await json<{ data: { status: string } }>(await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'shared@example.com' }, key: otherKey }));
  assert.equal(theirs.data.status, 'QUEUED');
  const ours = await json<{ data: { status: string; reason: string; suppressionReason: string } }>(await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'shared@example.com' } }));
  assert.deepEqual([ours.data.status, ours.data.reason, ours.data.suppressionReason], ['REJECTED', 'SUPPRESSED', 'MANUAL']);
  const read = await json<{ data: { status: string; reason: string; suppressionReason: string } }>(await app.api(`/emails/${(ours.data as unknown as { id: string }).id}`));
  assert.deepEqual([read.data.status, read.data.reason, read.data.suppressionReason], ['REJECTED', 'SUPPRESSED', 'MANUAL'], 'the read says why, as the send did');
});

test('a suppressed Cc is left out with a warning; the message still goes to the To', async () => {
  await json(await app.api('/suppressions', { method: 'POST', json: { address: 'cc-gone@example.com' } }), 201);
  const response = await json<{ data: { id: string; status: string }; warnings: { field: string; message: string }[] }>(
    await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'fine@example.com', cc: ['cc-gone@example.com', 'cc-ok@example.com'] } }),
  );
  assert.equal(response.data.status, 'QUEUED');
  assert.deepEqual(response.warnings.filter((warning) => warning.field === 'cc'), [{ field: 'cc', message: 'cc-gone@example.com is suppressed (MANUAL) and was left out' }]);
  const [row] = await app.mailroom.db.query<{ envelope: { to: string[] } }>('SELECT envelope FROM messages WHERE id = $1', [response.data.id]);
  assert.deepEqual(row!.envelope.to, ['fine@example.com', 'cc-ok@example.com']);
});

test('CSV export and import round-trip; a file with one bad row is refused whole', async () => {
  const csv = await app.api('/suppressions/export.csv');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const exported = await csv.text();
  const lines = exported.trim().split('\n');
  assert.equal(lines[0], 'address,reason,messageId,createdAt');
  assert.ok(lines.some((line) => line.startsWith('eve@example.com,MANUAL,,')), exported);

  // Into the other account: every row, reasons and times kept.
  const imported = await json<{ data: { rows: number; added: number; alreadyListed: number } }>(
    await app.api('/suppressions/import', { method: 'POST', body: exported, headers: { 'content-type': 'text/csv' }, key: otherKey }),
  );
  assert.deepEqual(imported.data, { rows: lines.length - 1, added: lines.length - 1, alreadyListed: 0 });
  const theirs = await json<{ data: Entry }>(await app.api('/suppressions/eve@example.com', { key: otherKey }));
  const ours = await json<{ data: Entry }>(await app.api('/suppressions/eve@example.com'));
  assert.deepEqual(theirs.data, ours.data);

  // Another provider's export: only an "email" column; reason from the query.
  const foreign = 'Email\nfrom-sendgrid-1@example.com\nFROM-SENDGRID-2@example.com\n';
  const result = await json<{ data: { rows: number; added: number } }>(
    await app.api('/suppressions/import?reason=HARD_BOUNCE', { method: 'POST', body: foreign, headers: { 'content-type': 'text/csv' } }),
  );
  assert.deepEqual(result.data, { rows: 2, added: 2, alreadyListed: 0 });
  assert.equal((await json<{ data: Entry }>(await app.api('/suppressions/from-sendgrid-2@example.com'))).data.reason, 'HARD_BOUNCE');

  const bad = 'address,reason\nok-1@example.com,MANUAL\nbroken-address,MANUAL\nok-2@example.com,SOMETHING\n';
  const refused = await json<{ error: { code: string; details: { field: string; message: string }[] } }>(
    await app.api('/suppressions/import', { method: 'POST', body: bad, headers: { 'content-type': 'text/csv' } }), 400,
  );
  assert.equal(refused.error.code, 'VALIDATION_ERROR');
  assert.deepEqual(refused.error.details.map((detail) => detail.field), ['line 3', 'line 4']);
  await json(await app.api('/suppressions/ok-1@example.com'), 404);
  await json(await app.api('/suppressions/import', { method: 'POST', json: { address: 'x@example.com' } }), 415);
});

test('a suppressed To is REJECTED in a bulk request and with an Idempotency-Key, and its event says why', async () => {
  await json(await app.api('/suppressions', { method: 'POST', json: { address: 'bulk-gone@example.com', reason: 'COMPLAINT' } }), 201);
  const bulk = await json<{ data: { data: { id: string; status: string; reason?: string; suppressionReason?: string } }[] }>(await app.api('/emails/bulk', {
    method: 'POST', json: { messages: [{ ...SEED_REQUEST, to: 'bulk-ok@example.com' }, { ...SEED_REQUEST, to: 'Bulk-Gone@example.com' }] },
  }));
  assert.deepEqual(bulk.data.map((result) => [result.data.status, result.data.reason, result.data.suppressionReason]), [['QUEUED', undefined, undefined], ['REJECTED', 'SUPPRESSED', 'COMPLAINT']]);
  const rejectedId = bulk.data[1]!.data.id;
  const events = await json<{ data: { type: string; details: { reason: string; suppression: { reason: string } } }[] }>(await app.api(`/emails/${rejectedId}/events`));
  assert.deepEqual(events.data.map((event) => [event.type, event.details.reason, event.details.suppression.reason]), [['REJECTED', 'SUPPRESSED', 'COMPLAINT']]);
  const [row] = await app.mailroom.db.query<{ status: string; queued: number }>('SELECT status, (SELECT count(*) FROM queue WHERE message_id = $1)::int AS queued FROM messages WHERE id = $1', [rejectedId]);
  assert.deepEqual(row, { status: 'REJECTED', queued: 0 });

  const headers = { 'idempotency-key': 'suppressed-once' };
  const first = await json<{ data: { id: string; status: string } }>(await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'bulk-gone@example.com' }, headers }));
  const replay = await json<{ data: { id: string; status: string } }>(await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'bulk-gone@example.com' }, headers }));
  assert.equal(first.data.status, 'REJECTED');
  assert.deepEqual(replay.data, first.data, 'the replay answers as the first did');
});
