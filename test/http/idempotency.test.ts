import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * SPEC section 3: the same Idempotency-Key with the same body within 24 h returns the first
 * response and sends nothing twice; the same key with another request is a 409.
 * Every test marks its messages with its own externalId, so that counts are per test.
 */
interface Data {
  id: string;
  externalId: string | null;
  status: string;
  subject: string;
}
interface SendBody {
  meta: { timestamp: number; transactionId: string };
  data: Data;
}
interface ErrorBody {
  meta: { timestamp: number; transactionId: string };
  error: { code: string; message: string; details: { field: string; message: string }[] };
}
interface BulkBody {
  meta: { timestamp: number; transactionId: string };
  data: ({ data: Data } | { error: ErrorBody['error'] })[];
}
interface Answer<T> {
  status: number;
  replayed: string | null;
  text: string;
  body: T;
}

let app: TestApp;

const request = (externalId: string, extra: Record<string, unknown> = {}) => ({
  to: 'john.doe@example.com',
  from: 'promo@elipackage.com',
  text: 'we have a new offer this week',
  subject: 'EliPackage Promo',
  externalId,
  clientId: '48118112',
  ...extra,
});

async function post<T = SendBody>(path: string, json: unknown, key: string | null, query = ''): Promise<Answer<T>> {
  const headers: Record<string, string> = key === null ? {} : { 'idempotency-key': key };
  const response = await app.api(path + query, { method: 'POST', json, headers });
  const text = await response.text();
  return { status: response.status, replayed: response.headers.get('idempotent-replayed'), text, body: JSON.parse(text) as T };
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await app.mailroom.db.query<{ n: number | string }>(sql, params);
  return Number(row!.n);
}
const storedWith = (externalId: string) => count('SELECT count(*) AS n FROM messages WHERE external_id = $1', [externalId]);
const allMessages = () => count('SELECT count(*) AS n FROM messages');
const keyRows = (key: string) => count('SELECT count(*) AS n FROM idempotency_keys WHERE key = $1', [key]);

async function caughtFor(id: string): Promise<number> {
  const response = await app.api('/sandbox/messages?limit=100');
  const { data } = (await response.json()) as { data: { messageId: string }[] };
  return data.filter((entry) => entry.messageId === id).length;
}

function assertConflict(answer: Answer<unknown>): void {
  assert.equal(answer.status, 409, answer.text);
  const body = answer.body as ErrorBody;
  assert.equal(body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  assert.deepEqual(body.error.details.map((detail) => detail.field), ['Idempotency-Key']);
  assert.equal(typeof body.meta.transactionId, 'string');
  assert.equal(answer.replayed, null);
}

before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

test('a replay returns exactly the first response, flagged, and the message is stored and delivered once', async () => {
  const first = await post('/emails', request('replay-1'), 'key-replay-1');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.replayed, null, 'the first response is not a replay');
  assert.equal(first.body.data.status, 'QUEUED');

  const second = await post('/emails', request('replay-1'), 'key-replay-1');
  assert.equal(second.status, 200);
  assert.equal(second.replayed, 'true');
  assert.deepEqual(second.body, first.body);
  assert.equal(second.body.data.id, first.body.data.id);
  assert.equal(second.body.meta.transactionId, first.body.meta.transactionId);
  assert.equal(second.body.meta.timestamp, first.body.meta.timestamp);
  assert.equal(await storedWith('replay-1'), 1);

  // Delivered once; a replay after delivery still answers the first response (status QUEUED).
  const id = first.body.data.id;
  await eventually(async () => (await caughtFor(id)) > 0, 15_000, 'delivery to the sandbox');
  const third = await post('/emails', request('replay-1'), 'key-replay-1');
  assert.deepEqual(third.body, first.body);
  assert.equal(third.replayed, 'true');
  assert.equal(await caughtFor(id), 1);
  assert.equal(await storedWith('replay-1'), 1);
  assert.equal(await count("SELECT count(*) AS n FROM message_events WHERE message_id = $1 AND type = 'QUEUED'", [id]), 1);
  const read = (await (await app.api(`/emails/${id}`)).json()) as { data: Data };
  assert.equal(read.data.status, 'DELIVERED');
});

test('a request without a key is never a replay: the same body twice makes two messages', async () => {
  const first = await post('/emails', request('no-key-1'), null);
  const second = await post('/emails', request('no-key-1'), null);
  assert.equal(first.status, 200);
  assert.equal(second.status, 200);
  assert.notEqual(first.body.data.id, second.body.data.id);
  assert.equal(second.replayed, null);
  assert.equal(await storedWith('no-key-1'), 2);
});

test('key order in the JSON body does not matter, nested objects included', async () => {
  const body = request('order-1', { headers: { 'X-One': '1', 'X-Two': '2' }, tags: ['a', 'b'] });
  const first = await post('/emails', body, 'key-order-1');
  assert.equal(first.status, 200, first.text);
  const reversed = Object.fromEntries(
    Object.entries(body)
      .reverse()
      .map(([name, value]) => [name, name === 'headers' ? { 'X-Two': '2', 'X-One': '1' } : value]),
  );
  assert.notEqual(JSON.stringify(reversed), JSON.stringify(body), 'the bodies differ as text');
  const second = await post('/emails', reversed, 'key-order-1');
  assert.equal(second.status, 200, second.text);
  assert.equal(second.replayed, 'true');
  assert.deepEqual(second.body, first.body);
  assert.equal(await storedWith('order-1'), 1);
});

test('the same key with a different body is a 409 IDEMPOTENCY_KEY_REUSED and stores nothing', async () => {
  const first = await post('/emails', request('reuse-1'), 'key-reuse-1');
  assert.equal(first.status, 200);
  const total = await allMessages();
  for (const changed of [
    request('reuse-2'), // another externalId
    request('reuse-1', { subject: 'EliPackage Promo!' }), // one character of the subject
    request('reuse-1', { tags: [] }), // an added empty field
    request('reuse-1', { headers: { 'X-One': '1' } }),
  ]) {
    assertConflict(await post('/emails', changed, 'key-reuse-1'));
  }
  // Arrays are ordered: the same tags in another order are another request.
  const tagged = await post('/emails', request('reuse-3', { tags: ['a', 'b'] }), 'key-reuse-3');
  assert.equal(tagged.status, 200);
  assertConflict(await post('/emails', request('reuse-3', { tags: ['b', 'a'] }), 'key-reuse-3'));

  assert.equal(await allMessages(), total + 1);
  assert.equal(await storedWith('reuse-2'), 0);
  assert.equal(await storedWith('reuse-1'), 1);
  // The original still replays.
  const replay = await post('/emails', request('reuse-1'), 'key-reuse-1');
  assert.equal(replay.body.data.id, first.body.data.id);
});

test('the same key with a different unsubscribeMsg query is a 409', async () => {
  const first = await post('/emails', request('unsub-1'), 'key-unsub-1', '?unsubscribeMsg=Unsubscribe');
  assert.equal(first.status, 200, first.text);
  assertConflict(await post('/emails', request('unsub-1'), 'key-unsub-1', '?unsubscribeMsg=Opt%20out'));
  assertConflict(await post('/emails', request('unsub-1'), 'key-unsub-1'));
  const replay = await post('/emails', request('unsub-1'), 'key-unsub-1', '?unsubscribeMsg=Unsubscribe');
  assert.equal(replay.replayed, 'true');
  assert.equal(replay.body.data.id, first.body.data.id);
  assert.equal(await storedWith('unsub-1'), 1);
});

test('20 concurrent requests with the same key and body: all 200, one id, one message', async () => {
  const answers = await Promise.all(Array.from({ length: 20 }, () => post('/emails', request('race-1'), 'key-race-1')));
  for (const answer of answers) assert.equal(answer.status, 200, answer.text);
  const ids = new Set(answers.map((answer) => answer.body.data.id));
  assert.equal(ids.size, 1);
  // Every answer is the winner's response.
  for (const answer of answers) assert.deepEqual(answer.body, answers[0]!.body);
  const transactionIds = new Set(answers.map((answer) => answer.body.meta.transactionId));
  assert.equal(transactionIds.size, 1);
  assert.equal(answers.filter((answer) => answer.replayed === null).length, 1, 'exactly one request did the work');
  assert.equal(answers.filter((answer) => answer.replayed === 'true').length, 19);
  assert.equal(await storedWith('race-1'), 1);
  assert.equal(await keyRows('key-race-1'), 1);
  const [id] = ids;
  await eventually(async () => (await caughtFor(id!)) > 0, 15_000, 'delivery to the sandbox');
  assert.equal(await caughtFor(id!), 1);
});

test('a request refused for validation stores nothing and does not take the key; the corrected one succeeds', async () => {
  const total = await allMessages();
  const refused = await post('/emails', request('fix-1', { to: 'john.doe.example.com' }), 'key-fix-1');
  assert.equal(refused.status, 400, refused.text);
  assert.equal((refused.body as unknown as ErrorBody).error.code, 'VALIDATION_ERROR');
  assert.equal(await allMessages(), total);
  assert.equal(await keyRows('key-fix-1'), 0);

  // Refused twice the same way: still a 400, not a replay.
  const again = await post('/emails', request('fix-1', { to: 'john.doe.example.com' }), 'key-fix-1');
  assert.equal(again.status, 400);
  assert.equal(again.replayed, null);

  const corrected = await post('/emails', request('fix-1'), 'key-fix-1');
  assert.equal(corrected.status, 200, corrected.text);
  assert.equal(corrected.replayed, null);
  assert.equal(await storedWith('fix-1'), 1);
  const replay = await post('/emails', request('fix-1'), 'key-fix-1');
  assert.equal(replay.replayed, 'true');
  assert.equal(replay.body.data.id, corrected.body.data.id);
  // The key now belongs to the corrected request: the refused body is a conflict, not a 400.
  assertConflict(await post('/emails', request('fix-1', { to: 'john.doe.example.com' }), 'key-fix-1'));
});

test('a key older than 24 h may be reused with another body', async () => {
  const first = await post('/emails', request('expire-1'), 'key-expire-1');
  assert.equal(first.status, 200);
  assertConflict(await post('/emails', request('expire-2'), 'key-expire-1'));

  await app.mailroom.db.query("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' WHERE key = $1", ['key-expire-1']);
  const reused = await post('/emails', request('expire-2'), 'key-expire-1');
  assert.equal(reused.status, 200, reused.text);
  assert.equal(reused.replayed, null);
  assert.notEqual(reused.body.data.id, first.body.data.id);
  assert.equal(reused.body.data.externalId, 'expire-2');
  assert.equal(await storedWith('expire-1'), 1);
  assert.equal(await storedWith('expire-2'), 1);
  assert.equal(await keyRows('key-expire-1'), 1);

  // The key now answers for the new request, and the old body conflicts with it.
  const replay = await post('/emails', request('expire-2'), 'key-expire-1');
  assert.equal(replay.replayed, 'true');
  assert.equal(replay.body.data.id, reused.body.data.id);
  assertConflict(await post('/emails', request('expire-1'), 'key-expire-1'));

  // An expired key with the same body is a new send too: the 24 h are over.
  await app.mailroom.db.query("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' WHERE key = $1", ['key-expire-1']);
  const resent = await post('/emails', request('expire-2'), 'key-expire-1');
  assert.equal(resent.status, 200);
  assert.notEqual(resent.body.data.id, reused.body.data.id);
  assert.equal(await storedWith('expire-2'), 2);
});

test('bulk requests honour Idempotency-Key', async () => {
  const bulk = { messages: [request('bulk-1'), request('bulk-2'), request('bulk-1', { to: 'not-an-address' })] };
  const first = await post<BulkBody>('/emails/bulk', bulk, 'key-bulk-1');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.replayed, null);
  assert.equal(first.body.data.length, 3);
  const ids = first.body.data.map((result) => ('data' in result ? result.data.id : null));
  assert.ok(ids[0] && ids[1] && ids[2] === null);

  const replay = await post<BulkBody>('/emails/bulk', bulk, 'key-bulk-1');
  assert.equal(replay.status, 200);
  assert.deepEqual(replay.body, first.body);
  assert.equal(replay.body.meta.transactionId, first.body.meta.transactionId);
  assert.equal(await storedWith('bulk-1'), 1);
  assert.equal(await storedWith('bulk-2'), 1);

  const total = await allMessages();
  assertConflict(await post('/emails/bulk', { messages: [request('bulk-1'), request('bulk-2')] }, 'key-bulk-1'));
  assertConflict(await post('/emails/bulk', bulk, 'key-bulk-1', '?unsubscribeMsg=Unsubscribe'));
  // The key is bound to its route as well: the same key on POST /emails is another request.
  assertConflict(await post('/emails', request('bulk-1'), 'key-bulk-1'));
  assert.equal(await allMessages(), total);

  // Concurrent bulk replays store nothing more.
  const racing = await Promise.all(Array.from({ length: 5 }, () => post<BulkBody>('/emails/bulk', { messages: [request('bulk-race')] }, 'key-bulk-race')));
  assert.ok(racing.every((answer) => answer.status === 200));
  for (const answer of racing) assert.deepEqual(answer.body, racing[0]!.body);
  assert.equal(await storedWith('bulk-race'), 1);
});

test('a replayed bulk answer carries idempotent-replayed: true, like a replayed single send', async () => {
  const bulk = { messages: [request('bulk-flag-1')] };
  const first = await post<BulkBody>('/emails/bulk', bulk, 'key-bulk-flag');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.replayed, null);
  const replay = await post<BulkBody>('/emails/bulk', bulk, 'key-bulk-flag');
  assert.equal(replay.status, 200);
  assert.deepEqual(replay.body, first.body);
  assert.equal(replay.replayed, 'true');
  assert.equal(await storedWith('bulk-flag-1'), 1);
});
