import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAccount, setAccountStatus } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { LOCK_OUT_MS, setOperatorPassword, SIGN_IN_FAILURES } from '../../src/accounts/operators.js';
import { ManualClock } from '../../src/shared/clock.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 18, sign-in: operators sign in to the console with a password (scrypt), and the session
 * cookie then stands in for an API key on the standard listener. The cookie's flags, CSRF on every
 * change, sign-out, expiry, a new password ending the sessions, the per-operator lock-out and the
 * per-address throttle, the account boundary, and HIPAA accounts kept out of the console.
 */
let app: TestApp;
const clock = new ManualClock(new Date());
const PASSWORD = 'correct horse battery staple';
const MESSAGE = { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: 'Hello', text: 'Body' };

interface SessionData { operator: string; account: string; role: string; csrfToken: string; expiresAt: string }
interface ErrorBody { error: { code: string; message: string } }

before(async () => {
  app = await startTestApp({}, { clock });
  const { db, secrets } = app.mailroom;
  await setOperatorPassword(db, 'default', 'alice', PASSWORD);
  await setOperatorPassword(db, 'default', 'carol', PASSWORD);
  await createAccount(db, secrets, 'other-co');
  await setOperatorPassword(db, 'other-co', 'bob', PASSWORD);
  await createAccount(db, secrets, 'clinic', { hipaa: true });
  await setOperatorPassword(db, 'clinic', 'nurse', PASSWORD);
});
after(async () => {
  await app.stop();
});

/** A browser: no API key, its cookie, and its CSRF token when it sends one. */
function browser(path: string, init: { method?: string; json?: unknown; cookie?: string | null; csrf?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  if (init.csrf !== undefined) headers['x-csrf-token'] = init.csrf;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  return fetch(app.url + path, { method: init.method ?? 'GET', headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
}

async function signIn(account: string, operator: string, password: string): Promise<{ response: Response; cookie: string | null; data: SessionData | null; code: string | null }> {
  const response = await browser('/session', { method: 'POST', json: { account, operator, password } });
  const body = (await response.json()) as { data?: SessionData } & Partial<ErrorBody>;
  const setCookie = response.headers.getSetCookie()[0] ?? null;
  return { response, cookie: setCookie ? setCookie.split(';')[0]! : null, data: body.data ?? null, code: body.error?.code ?? null };
}

const codeOf = async (response: Response) => ((await response.json()) as ErrorBody).error.code;

test('a wrong password, an unknown operator and an unknown account all get the same 401 and no cookie', async () => {
  for (const [account, operator, password] of [['default', 'alice', 'wrong password!!'], ['default', 'nobody', PASSWORD], ['no-such-account', 'alice', PASSWORD], ['default', 'default', PASSWORD]] as const) {
    const { response, cookie, code } = await signIn(account, operator, password);
    assert.equal(response.status, 401, `${account}/${operator}`);
    assert.equal(code, 'INVALID_CREDENTIALS');
    assert.equal(cookie, null);
  }
});

test('signed in: an HttpOnly SameSite=Strict cookie that works like a key, but every change needs the CSRF token', async () => {
  const { response, cookie, data } = await signIn('default', 'alice', PASSWORD);
  assert.equal(response.status, 200);
  const flags = response.headers.getSetCookie()[0]!.split(';').map((part) => part.trim().toLowerCase());
  assert.ok(flags.includes('httponly') && flags.includes('samesite=strict') && flags.includes('path=/'), flags.join('; '));
  assert.ok(!flags.includes('secure'), 'plain HTTP: not Secure (the browser would drop it)');
  assert.ok(flags.some((flag) => flag.startsWith('expires=')), 'it ends with the session');
  assert.deepEqual({ operator: data!.operator, account: data!.account, role: data!.role }, { operator: 'alice', account: 'default', role: 'operator' });

  const who = await browser('/session', { cookie });
  assert.equal(who.status, 200);
  assert.equal(((await who.json()) as { data: SessionData }).data.csrfToken, data!.csrfToken);

  assert.equal((await browser('/emails', { cookie })).status, 200);
  const noToken = await browser('/emails', { method: 'POST', json: MESSAGE, cookie });
  assert.equal(noToken.status, 403);
  assert.equal(await codeOf(noToken), 'CSRF_TOKEN_INVALID');
  assert.equal((await browser('/emails', { method: 'POST', json: MESSAGE, cookie, csrf: `${data!.csrfToken.slice(0, -1)}x` })).status, 403);
  const sent = await browser('/emails', { method: 'POST', json: MESSAGE, cookie, csrf: data!.csrfToken });
  assert.equal(sent.status, 200);
  assert.equal(((await sent.json()) as { data: { operator: string } }).data.operator, 'alice', 'sent as the signed-in operator');

  // Signing out is a change too; then the cookie is cleared and the session is dead.
  assert.equal((await browser('/session', { method: 'DELETE', cookie })).status, 403);
  const out = await browser('/session', { method: 'DELETE', cookie, csrf: data!.csrfToken });
  assert.equal(out.status, 200);
  assert.match(out.headers.getSetCookie()[0] ?? '', /^mailroom_session=;.*Expires=Thu, 01 Jan 1970/);
  assert.equal((await browser('/emails', { cookie })).status, 401);
  assert.equal((await browser('/session', { cookie })).status, 401);
});

test('a session ends when it expires and when the operator gets a new password', async () => {
  const first = await signIn('default', 'alice', PASSWORD);
  assert.equal((await browser('/emails', { cookie: first.cookie })).status, 200);
  clock.advance(12 * 3_600_000 + 1_000);
  assert.equal((await browser('/emails', { cookie: first.cookie })).status, 401, 'MAILROOM_SESSION_HOURS (12) later');

  const second = await signIn('default', 'alice', PASSWORD);
  assert.equal((await browser('/emails', { cookie: second.cookie })).status, 200);
  await setOperatorPassword(app.mailroom.db, 'default', 'alice', PASSWORD);
  assert.equal((await browser('/emails', { cookie: second.cookie })).status, 401, 'a new password signs every browser out');
});

test("an operator sees only its own account's data", async () => {
  const sentByDefault = await app.api('/emails', { method: 'POST', json: MESSAGE });
  const id = ((await sentByDefault.json()) as { data: { id: string } }).data.id;
  const bob = await signIn('other-co', 'bob', PASSWORD);
  assert.equal((await browser(`/emails/${id}`, { cookie: bob.cookie })).status, 404);
  const listed = (await (await browser('/emails', { cookie: bob.cookie })).json()) as { data: unknown[] };
  assert.deepEqual(listed.data, []);
  // A key and a cookie together: the key decides (a script's key is never overridden by a browser's cookie).
  const mixed = await fetch(`${app.url}/emails/${id}`, { headers: { authorization: `Bearer ${app.key}`, cookie: bob.cookie! } });
  assert.equal(mixed.status, 200);
  const otherKey = (await createKey(app.mailroom.db, { accountName: 'other-co' })).key;
  assert.equal((await app.api(`/emails/${id}`, { key: otherKey })).status, 404);
});

test('HIPAA accounts are not served by the console', async () => {
  const { response, code, cookie } = await signIn('clinic', 'nurse', PASSWORD);
  assert.equal(response.status, 403);
  assert.equal(code, 'HIPAA_ENDPOINT_REQUIRED');
  assert.equal(cookie, null);
});

test(`${SIGN_IN_FAILURES} wrong passwords in a row lock the operator out, even from the right one, until the lock-out ends`, async () => {
  for (let i = 1; i < SIGN_IN_FAILURES; i++) assert.equal((await signIn('default', 'carol', `wrong password ${i}`)).response.status, 401);
  const locking = await signIn('default', 'carol', 'wrong password 5');
  assert.equal(locking.response.status, 429);
  assert.equal(locking.code, 'OPERATOR_LOCKED');
  const refused = await signIn('default', 'carol', PASSWORD);
  assert.equal(refused.response.status, 429, 'locked: the right password is refused too');
  assert.ok(Number(refused.response.headers.get('retry-after')) > 0);
  assert.equal(refused.cookie, null);
  clock.advance(LOCK_OUT_MS + 1_000);
  assert.equal((await signIn('default', 'carol', PASSWORD)).response.status, 200);
});

test('an admin operator lists every account, switches the session to another, and reinstates a suspended one; no one else can', async () => {
  const { db } = app.mailroom;
  await setOperatorPassword(db, 'default', 'root', PASSWORD, 'admin');
  const admin = await signIn('default', 'root', PASSWORD);
  assert.equal(admin.data?.role, 'admin');
  const plain = await signIn('other-co', 'bob', PASSWORD);

  const listed = await browser('/admin/accounts', { cookie: admin.cookie });
  assert.equal(listed.status, 200);
  const names = ((await listed.json()) as { data: { name: string }[] }).data.map((account) => account.name);
  assert.ok(['default', 'other-co', 'clinic'].every((name) => names.includes(name)), names.join());
  const byOperator = await browser('/admin/accounts', { cookie: plain.cookie });
  assert.equal(byOperator.status, 403);
  assert.equal(await codeOf(byOperator), 'ADMIN_REQUIRED');
  assert.equal((await app.api('/admin/accounts')).status, 401, 'never with an API key');

  // Switch: a change, so the CSRF token is needed; afterwards the cookie acts on the other account.
  const otherKey = (await createKey(db, { accountName: 'other-co' })).key;
  const sentByOther = await app.api('/emails', { method: 'POST', key: otherKey, json: MESSAGE });
  const otherId = ((await sentByOther.json()) as { data: { id: string } }).data.id;
  assert.equal((await browser(`/emails/${otherId}`, { cookie: admin.cookie })).status, 404);
  assert.equal((await browser('/session/account', { method: 'PUT', json: { account: 'other-co' }, cookie: admin.cookie })).status, 403);
  const switched = await browser('/session/account', { method: 'PUT', json: { account: 'other-co' }, cookie: admin.cookie, csrf: admin.data!.csrfToken });
  assert.equal(switched.status, 200);
  assert.equal((await browser(`/emails/${otherId}`, { cookie: admin.cookie })).status, 200);
  assert.equal(((await (await browser('/session', { cookie: admin.cookie })).json()) as { data: SessionData }).data.account, 'other-co');
  assert.equal((await browser('/session/account', { method: 'PUT', json: { account: 'clinic' }, cookie: admin.cookie, csrf: admin.data!.csrfToken })).status, 404, 'never a HIPAA account');
  assert.equal((await browser('/session/account', { method: 'PUT', json: { account: 'default' }, cookie: plain.cookie, csrf: plain.data!.csrfToken })).status, 403);

  await setAccountStatus(db, 'other-co', 'suspended');
  assert.equal((await browser('/admin/accounts/other-co/reinstate', { method: 'POST', cookie: plain.cookie, csrf: plain.data!.csrfToken })).status, 403);
  const reinstated = await browser('/admin/accounts/other-co/reinstate', { method: 'POST', cookie: admin.cookie, csrf: admin.data!.csrfToken });
  assert.equal(reinstated.status, 200);
  const [row] = await db.query<{ status: string }>("SELECT status FROM accounts WHERE name = 'other-co'");
  assert.equal(row?.status, 'active');
  assert.equal((await browser('/admin/accounts/no-such-co/reinstate', { method: 'POST', cookie: admin.cookie, csrf: admin.data!.csrfToken })).status, 404);
});


test('one address that keeps failing is slowed down across operators', async () => {
  let last = await signIn('default', 'alice', 'not the password');
  for (let i = 0; i < 30 && last.response.status === 401; i++) last = await signIn('default', `guess-${i}`, 'not the password');
  assert.equal(last.response.status, 429);
  assert.equal(last.code, 'RATE_LIMITED');
  assert.equal((await signIn('default', 'alice', PASSWORD)).response.status, 429, 'from that address, for a while');
});
