import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SmtpClient, plainToken } from '../helpers/smtpClient.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 18: API keys through the API (`/api-keys`, for the console and for scripts), with
 * optional scopes. A key is shown once, listed by its prefix only, revoked at once; a scoped key
 * is refused where it lacks the scope (HTTP 403 INSUFFICIENT_SCOPE, SMTP AUTH 535) and cannot
 * make a key that may do more than itself; one account never sees or revokes another's keys.
 */
let app: TestApp;

interface Created { id: number; key: string; prefix: string; scopes: string[] | null }
interface Listed { id: number; prefix: string; name: string; operator: string; scopes: string[] | null; createdAt: string; revokedAt: string | null }
interface ErrorBody { error: { code: string; message: string; details: { field: string }[] } }

const MESSAGE = { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: 'Hello', text: 'Body' };

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api,smtp', MAILROOM_SMTP_PORT: '0', MAILROOM_SMTPS_PORT: '0' });
});
after(async () => {
  await app.stop();
});

async function create(json: unknown, key?: string): Promise<{ status: number; body: unknown }> {
  const response = await app.api('/api-keys', { method: 'POST', json, ...(key ? { key } : {}) });
  return { status: response.status, body: await response.json() };
}

async function made(json: unknown, key?: string): Promise<Created> {
  const { status, body } = await create(json, key);
  assert.equal(status, 201, JSON.stringify(body));
  return (body as { data: Created }).data;
}

const errorCode = async (response: Response) => ((await response.json()) as ErrorBody).error.code;

test('a key made through the API works, is listed by its prefix only, and stops working the moment it is revoked', async () => {
  const key = await made({ name: 'billing app' });
  assert.match(key.key, /^mr_[A-Za-z0-9_-]{20,}$/);
  assert.equal(key.scopes, null, 'no scopes asked: every scope');
  assert.ok(key.key.startsWith(key.prefix), 'the prefix is the start of the key');
  assert.equal((await app.api('/account', { key: key.key })).status, 200);

  const listed = await app.api('/api-keys');
  const text = await listed.text();
  assert.equal(listed.status, 200);
  assert.ok(!text.includes(key.key), 'the list never holds a key');
  const entry = (JSON.parse(text) as { data: Listed[] }).data.find((row) => row.id === key.id);
  assert.deepEqual(entry && { name: entry.name, prefix: entry.prefix, operator: entry.operator, scopes: entry.scopes, revokedAt: entry.revokedAt },
    { name: 'billing app', prefix: key.prefix, operator: 'default', scopes: null, revokedAt: null });

  const revoked = await app.api(`/api-keys/${key.id}`, { method: 'DELETE' });
  assert.equal(revoked.status, 200);
  assert.equal((await app.api('/account', { key: key.key })).status, 401, 'refused at once, not after the cache expires');
  assert.equal((await app.api(`/api-keys/${key.id}`, { method: 'DELETE' })).status, 404, 'revoked already');
  const after = ((await (await app.api('/api-keys')).json()) as { data: Listed[] }).data.find((row) => row.id === key.id);
  assert.ok(after?.revokedAt, 'still listed, with when it was revoked');
});

test('a scoped key does what its scopes allow and nothing else, over HTTP and SMTP', async () => {
  const sender = await made({ name: 'app server', scopes: ['send'] });
  const reader = await made({ name: 'dashboard', scopes: ['read', 'read'] });
  assert.deepEqual(reader.scopes, ['read'], 'once each');

  assert.equal((await app.api('/emails', { method: 'POST', key: sender.key, json: MESSAGE })).status, 200);
  const readBySender = await app.api('/emails', { key: sender.key });
  assert.equal(readBySender.status, 403);
  assert.equal(await errorCode(readBySender), 'INSUFFICIENT_SCOPE');
  const domainBySender = await app.api('/domains', { method: 'POST', key: sender.key, json: { domain: 'shop.example' } });
  assert.equal(await errorCode(domainBySender), 'INSUFFICIENT_SCOPE');

  assert.equal((await app.api('/emails', { key: reader.key })).status, 200);
  const sentByReader = await app.api('/emails', { method: 'POST', key: reader.key, json: MESSAGE });
  assert.equal(sentByReader.status, 403);
  assert.equal(await errorCode(sentByReader), 'INSUFFICIENT_SCOPE');
  assert.equal((await app.api('/no-such-route', { key: reader.key })).status, 404, 'a missing route is a 404 whatever the key');

  // SMTP AUTH with the key as password: the send scope is needed there too.
  for (const [key, code] of [[reader.key, 535], [sender.key, 235]] as const) {
    const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission);
    await client.command('EHLO client.example');
    await client.startTls();
    await client.command('EHLO client.example');
    const auth = await client.command(`AUTH PLAIN ${plainToken('apikey', key)}`);
    assert.equal(auth.code, code, auth.text);
    client.close();
  }
});

test('a scoped key cannot make a key that may do more than itself; bad scopes and names are refused', async () => {
  const admin = await made({ scopes: ['admin'] });
  assert.deepEqual((await made({ scopes: ['admin'] }, admin.key)).scopes, ['admin']);
  for (const scopes of [['send'], ['admin', 'read'], undefined]) {
    const { status, body } = await create(scopes ? { scopes } : {}, admin.key);
    assert.equal(status, 403, JSON.stringify(body));
    assert.equal((body as ErrorBody).error.code, 'INSUFFICIENT_SCOPE');
  }
  const sender = await made({ scopes: ['send'] });
  assert.equal((await create({ scopes: ['send'] }, sender.key)).status, 403, 'making keys is an admin action');

  for (const json of [{ scopes: ['root'] }, { scopes: [] }, { scopes: [1] }, { name: 'two\nlines' }, { name: 'x'.repeat(101) }]) {
    const { status, body } = await create(json);
    assert.equal(status, 400, `${JSON.stringify(json)}: ${JSON.stringify(body)}`);
    assert.equal((body as ErrorBody).error.code, 'VALIDATION_ERROR');
  }
  assert.equal((await app.api('/api-keys/not-a-number', { method: 'DELETE' })).status, 400);
});

test("one account neither lists nor revokes another's keys", async () => {
  const mine = await made({ name: 'mine' });
  const otherKey = await otherAccountKey(app, 'other-co');
  const theirs = ((await (await app.api('/api-keys', { key: otherKey })).json()) as { data: Listed[] }).data;
  assert.ok(!theirs.some((row) => row.id === mine.id || row.name === 'mine'), JSON.stringify(theirs));
  const revoke = await app.api(`/api-keys/${mine.id}`, { method: 'DELETE', key: otherKey });
  assert.equal(revoke.status, 404);
  assert.equal((await app.api('/account', { key: mine.key })).status, 200, 'still works');
});
