import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAccount } from '../../src/accounts/accounts.js';
import { createKey, revokeKey } from '../../src/accounts/apiKeys.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * SPEC section 2: one account never sees another's data, and every request authenticates.
 * Account A is the bootstrap account "default"; account B is "acme" with a key of its own.
 */
interface Message {
  id: string;
  to: string;
  from: string;
  userName: string;
  operator: string;
  status: string;
  subject: string;
  externalId: string | null;
  clientId: string | null;
}
interface Caught {
  id: number;
  messageId: string;
}
interface ErrorBody {
  meta: { timestamp: number; transactionId: string };
  error: { code: string; message: string; details: unknown[] };
}

let app: TestApp;
let keyB: string;
const sentByA: Message[] = [];
let sentByB: Message;
const caughtA: Caught[] = [];

const requestA = (n: number) => ({
  to: `alice${n}@customer-a.example`,
  from: 'news@tenant-a.example',
  text: `secret content of A number ${n}`,
  subject: `A's subject ${n}`,
  externalId: `tenantA-${n}`,
  clientId: `clientA-${n}`,
});
const requestB = {
  to: 'bob@customer-b.example',
  from: 'news@acme.example',
  text: 'content of B',
  subject: "B's subject",
  externalId: 'tenantB-1',
  clientId: 'clientB-1',
};

async function call(path: string, key: string | null, init: RequestInit & { json?: unknown } = {}) {
  const response = await app.api(path, { ...init, key });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as unknown };
}

async function send(key: string, json: unknown, headers: Record<string, string> = {}): Promise<Message> {
  const response = await call('/emails', key, { method: 'POST', json, headers });
  assert.equal(response.status, 200, response.text);
  return (response.body as { data: Message }).data;
}

async function list(key: string, query = ''): Promise<Message[]> {
  const response = await call(`/emails?limit=100${query}`, key);
  assert.equal(response.status, 200, response.text);
  return (response.body as { data: Message[] }).data;
}

async function sandbox(key: string): Promise<Caught[]> {
  const response = await call('/sandbox/messages?limit=100', key);
  assert.equal(response.status, 200, response.text);
  return (response.body as { data: Caught[] }).data;
}

function assertNotFound(response: { status: number; text: string; body: unknown }): void {
  assert.equal(response.status, 404, response.text);
  assert.equal((response.body as ErrorBody).error.code, 'NOT_FOUND');
  // Not a word of A's message in the refusal.
  for (const message of sentByA) {
    assert.ok(!response.text.includes(message.to) && !response.text.includes(message.subject) && !response.text.includes(message.externalId!));
  }
}

function assertUnauthorized(response: { status: number; headers: Headers; body: unknown }): void {
  assert.equal(response.status, 401);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
  assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm="mailroom"$/);
  const body = response.body as ErrorBody;
  assert.equal(body.error.code, 'UNAUTHORIZED');
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.meta.transactionId, 'string');
  assert.ok(Array.isArray(body.error.details));
}

before(async () => {
  app = await startTestApp();
  await createAccount(app.mailroom.db, app.mailroom.secrets, 'acme');
  keyB = (await createKey(app.mailroom.db, { accountName: 'acme', operatorName: 'acme-ops', name: 'tenancy test' })).key;
  for (const n of [1, 2, 3]) sentByA.push(await send(app.key, requestA(n)));
  sentByB = await send(keyB, requestB);
  // Both accounts' messages reach the sandbox before anything is compared.
  await eventually(async () => {
    const caught = await sandbox(app.key);
    return sentByA.every((message) => caught.some((entry) => entry.messageId === message.id)) ? caught : undefined;
  }, 15_000, "A's messages in the sandbox").then((caught) => caughtA.push(...caught));
  await eventually(async () => (await sandbox(keyB)).some((entry) => entry.messageId === sentByB.id), 15_000, "B's message in the sandbox");
});
after(() => app.stop());

test('each account sends as itself: userName and operator are its own', () => {
  assert.equal(sentByA.length, 3);
  for (const message of sentByA) {
    assert.equal(message.userName, 'default');
    assert.equal(message.operator, 'default');
  }
  assert.equal(sentByB.userName, 'acme');
  assert.equal(sentByB.operator, 'acme-ops');
  assert.equal(new Set([...sentByA, sentByB].map((message) => message.id)).size, 4);
});

test("B gets 404 for A's message and its events", async () => {
  for (const message of sentByA) {
    assertNotFound(await call(`/emails/${message.id}`, keyB));
    assertNotFound(await call(`/emails/${message.id}/events`, keyB));
  }
  // Control: A itself reads them.
  const own = await call(`/emails/${sentByA[0]!.id}`, app.key);
  assert.equal(own.status, 200);
  assert.equal((own.body as { data: Message }).data.externalId, 'tenantA-1');
  const events = await call(`/emails/${sentByA[0]!.id}/events`, app.key);
  assert.equal(events.status, 200);
  assert.deepEqual((events.body as { data: { type: string }[] }).data.map((event) => event.type), ['QUEUED', 'DELIVERED']);
});

test("GET /emails with B's key lists only B's messages, whatever the filter", async () => {
  assert.deepEqual((await list(keyB)).map((message) => message.id), [sentByB.id]);
  assert.deepEqual(await list(keyB, '&externalId=tenantA-1'), []);
  assert.deepEqual(await list(keyB, '&clientId=clientA-2'), []);
  assert.deepEqual(await list(keyB, `&to=${encodeURIComponent(requestA(3).to)}`), []);
  assert.deepEqual(await list(keyB, `&from=${encodeURIComponent(requestA(1).from)}`), []);
  assert.deepEqual((await list(keyB, '&status=DELIVERED')).map((message) => message.id), [sentByB.id]);
  // A cursor taken from A's ids still shows B nothing of A's.
  assert.deepEqual((await list(keyB, `&cursor=${sentByA[2]!.id}`)).map((message) => message.id).filter((id) => id !== sentByB.id), []);
  // Control: the same filters find A's messages for A.
  assert.deepEqual((await list(app.key, '&externalId=tenantA-1')).map((message) => message.id), [sentByA[0]!.id]);
  assert.deepEqual((await list(app.key, '&clientId=clientA-2')).map((message) => message.id), [sentByA[1]!.id]);
});

test("B's sandbox shows none of A's messages, and B gets 404 for A's caught message", async () => {
  const caughtB = await sandbox(keyB);
  assert.deepEqual(caughtB.map((entry) => entry.messageId), [sentByB.id]);
  assert.equal(caughtA.length, 3);
  for (const entry of caughtA) {
    assertNotFound(await call(`/sandbox/messages/${entry.id}`, keyB));
    // Control: A reads its own.
    const own = await call(`/sandbox/messages/${entry.id}`, app.key);
    assert.equal(own.status, 200);
    assert.match((own.body as { data: { raw: string } }).data.raw, /secret content of A number \d/);
  }
});

test("vice versa: B reads its own message as acme; A sees nothing of B's", async () => {
  const own = await call(`/emails/${sentByB.id}`, keyB);
  assert.equal(own.status, 200);
  const data = (own.body as { data: Message }).data;
  assert.equal(data.userName, 'acme');
  assert.equal(data.operator, 'acme-ops');
  assert.equal(data.externalId, 'tenantB-1');
  assert.equal(data.status, 'DELIVERED');

  const fromA = await call(`/emails/${sentByB.id}`, app.key);
  assert.equal(fromA.status, 404);
  assert.ok(!fromA.text.includes(requestB.to) && !fromA.text.includes(requestB.subject));
  assert.equal((await call(`/emails/${sentByB.id}/events`, app.key)).status, 404);
  const caughtB = (await sandbox(keyB))[0]!;
  assert.equal((await call(`/sandbox/messages/${caughtB.id}`, app.key)).status, 404);
  assert.deepEqual(await list(app.key, '&externalId=tenantB-1'), []);
  const listedA = (await list(app.key)).map((message) => message.id);
  assert.deepEqual([...listedA].sort(), sentByA.map((message) => message.id).sort());
  assert.ok(!(await sandbox(app.key)).some((entry) => entry.messageId === sentByB.id));
});

test('no key: 401 with a JSON error and WWW-Authenticate, and nothing is stored', async () => {
  const [before_] = await app.mailroom.db.query<{ n: number | string }>('SELECT count(*) AS n FROM messages');
  assertUnauthorized(await call('/emails', null));
  assertUnauthorized(await call(`/emails/${sentByA[0]!.id}`, null));
  assertUnauthorized(await call('/sandbox/messages', null));
  const post = await call('/emails', null, { method: 'POST', json: requestA(9) });
  assertUnauthorized(post);
  assert.ok(!post.text.includes('tenantA'), 'no data in a 401');
  const [after_] = await app.mailroom.db.query<{ n: number | string }>('SELECT count(*) AS n FROM messages');
  assert.equal(Number(after_!.n), Number(before_!.n));
});

test('a wrong key, a malformed header and the Basic scheme are 401', async () => {
  const raw = (authorization: string) => fetch(`${app.url}/emails`, { headers: { authorization } });
  const asCall = async (response: Response) => ({ status: response.status, headers: response.headers, body: (await response.json()) as unknown });
  assertUnauthorized(await asCall(await raw('Bearer mr_not_a_real_key_0000000000000000')));
  assertUnauthorized(await asCall(await raw(`Bearer ${keyB}x`)));
  assertUnauthorized(await asCall(await raw(`Basic ${Buffer.from(`apikey:${app.key}`).toString('base64')}`)));
  assertUnauthorized(await asCall(await raw(`Basic ${app.key}`)));
  assertUnauthorized(await asCall(await raw(app.key)));
  assertUnauthorized(await asCall(await raw('Bearer')));
  assertUnauthorized(await asCall(await raw(`Bearer ${app.key} ${keyB}`)));
});

test('"App <key>" and "Bearer <key>" both authenticate, each as its own account', async () => {
  for (const scheme of ['App', 'Bearer']) {
    for (const [key, id] of [[app.key, sentByA[0]!.id], [keyB, sentByB.id]] as const) {
      const response = await fetch(`${app.url}/emails/${id}`, { headers: { authorization: `${scheme} ${key}` } });
      assert.equal(response.status, 200, `${scheme} scheme`);
    }
    const cross = await fetch(`${app.url}/emails/${sentByA[0]!.id}`, { headers: { authorization: `${scheme} ${keyB}` } });
    assert.equal(cross.status, 404);
  }
});

test('a revoked key stops working (within the authenticator cache time); other keys keep working', async () => {
  const created = await createKey(app.mailroom.db, { accountName: 'acme', name: 'to revoke' });
  assert.equal((await call('/emails', created.key)).status, 200);
  assert.equal(await revokeKey(app.mailroom.db, 'acme', created.id), true);
  const refused = await eventually(async () => {
    const response = await call('/emails', created.key);
    return response.status === 401 ? response : undefined;
  }, 10_000, 'the revoked key to be refused');
  assertUnauthorized(refused);
  // Revoked stays revoked, and B's other key and A's key are unaffected.
  assert.equal((await call('/emails', created.key, { method: 'POST', json: requestB })).status, 401);
  assert.equal((await call('/emails', keyB)).status, 200);
  assert.equal((await call('/emails', app.key)).status, 200);
  assert.deepEqual((await list(keyB)).map((message) => message.id), [sentByB.id]);
});

test('Idempotency-Keys are per account: the same key in A and B makes two messages', async () => {
  const key = 'order-4711';
  const headers = { 'idempotency-key': key };
  const firstA = await send(app.key, requestA(7), headers);
  // B uses A's key with a different body: no 409, its own message.
  const firstB = await send(keyB, { ...requestB, externalId: 'tenantB-7' }, headers);
  assert.notEqual(firstB.id, firstA.id);
  assert.equal(firstA.userName, 'default');
  assert.equal(firstB.userName, 'acme');
  assert.equal(firstB.externalId, 'tenantB-7');

  // B sends exactly A's body under A's key: a new message of B's, not A's stored response.
  const sameBodyB = await call('/emails', keyB, { method: 'POST', json: requestA(7), headers: { 'idempotency-key': 'order-4712' } });
  const sameBodyA = await call('/emails', app.key, { method: 'POST', json: requestA(7), headers: { 'idempotency-key': 'order-4712' } });
  assert.equal(sameBodyB.status, 200);
  assert.equal(sameBodyA.status, 200);
  const dataB = (sameBodyB.body as { data: Message }).data;
  const dataA = (sameBodyA.body as { data: Message }).data;
  assert.notEqual(dataA.id, dataB.id);
  assert.equal(dataB.userName, 'acme');
  assert.equal(dataA.userName, 'default');
  assert.equal(sameBodyA.headers.get('idempotent-replayed'), null);

  // Each account's replay answers its own first response.
  const replayA = await call('/emails', app.key, { method: 'POST', json: requestA(7), headers });
  const replayB = await call('/emails', keyB, { method: 'POST', json: { ...requestB, externalId: 'tenantB-7' }, headers });
  assert.equal((replayA.body as { data: Message }).data.id, firstA.id);
  assert.equal((replayB.body as { data: Message }).data.id, firstB.id);
  assert.equal(replayA.headers.get('idempotent-replayed'), 'true');
  assert.equal(replayB.headers.get('idempotent-replayed'), 'true');

  const rows = await app.mailroom.db.query<{ account_id: number | string; n: number | string }>(
    'SELECT account_id, count(*) AS n FROM idempotency_keys WHERE key = $1 GROUP BY account_id',
    [key],
  );
  assert.equal(rows.length, 2);
  assert.ok(rows.every((row) => Number(row.n) === 1));
});
