import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { loadConfig } from '../../src/config/load.js';
import { addDomain } from '../../src/domains/domains.js';
import { SEED_REQUEST, TEST_KEY, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore } from '../helpers/process.js';

/**
 * Issue 17, item 1: the HIPAA listeners (HTTPS API, implicit-TLS SMTP) serve HIPAA accounts only,
 * and HIPAA accounts are served nowhere else; each refusal comes before any content is read, and
 * stores nothing. TLS 1.2 or newer on both; no plain text on the SMTP one, not even its greeting.
 */
let app: TestApp;
let store: TestStore;
let hipaaKey: string;
let hipaaUrl: string;
let hipaaSmtp: string;
let submission: string;
// The listeners' certificate is the self-signed one in the data directory: trusted by name here.
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

before(async () => {
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({
    MAILROOM_ROLES: 'api,worker,smtp',
    MAILROOM_SMTP_PORT: String(await freePort()),
    MAILROOM_SMTPS_PORT: String(await freePort()),
    MAILROOM_HIPAA_HTTP_PORT: String(await freePort()),
    MAILROOM_HIPAA_SMTP_PORT: String(await freePort()),
  }, { store });
  const { db, secrets } = app.mailroom;
  await createAccount(db, secrets, 'clinic', { hipaa: true });
  hipaaKey = (await createKey(db, { accountName: 'clinic' })).key;
  await addDomain(db, secrets, (await requireAccount(db, 'clinic')).id, 'clinic.example', { verified: true });
  hipaaUrl = app.mailroom.hipaa.url!;
  hipaaSmtp = app.mailroom.hipaa.smtp!;
  submission = app.mailroom.smtp!.submission;
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await insecure.close();
});

const reminder = { ...SEED_REQUEST, callbacks: [], from: 'reminders@clinic.example', to: 'patient@example.com', subject: 'Your appointment', text: 'Tomorrow at 9' };

async function messages(): Promise<number> {
  return countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');
}

test('HTTP: a HIPAA key is refused on the standard listener and the standard keys on the HIPAA one, before anything is stored', async () => {
  assert.match(hipaaUrl, /^https:\/\//);
  const before = await messages();
  const refused = await app.api('/emails', { method: 'POST', key: hipaaKey, json: reminder });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'HIPAA_ENDPOINT_REQUIRED');
  // Every route, reads too.
  assert.equal((await app.api('/account', { key: hipaaKey })).status, 403);

  const other = await undiciFetch(`${hipaaUrl}/emails`, {
    method: 'POST', dispatcher: insecure, headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(SEED_REQUEST),
  });
  assert.equal(other.status, 403);
  assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'HIPAA_ACCOUNT_REQUIRED');
  assert.equal(await messages(), before, 'nothing stored by either refusal');

  const sent = await undiciFetch(`${hipaaUrl}/emails`, {
    method: 'POST', dispatcher: insecure, headers: { authorization: `Bearer ${hipaaKey}`, 'content-type': 'application/json' }, body: JSON.stringify(reminder),
  });
  assert.equal(sent.status, 200, await sent.clone().text());
  assert.equal(await messages(), before + 1);
  const account = await undiciFetch(`${hipaaUrl}/account`, { dispatcher: insecure, headers: { authorization: `Bearer ${hipaaKey}` } });
  assert.equal(((await account.json()) as { data: { hipaa: boolean } }).data.hipaa, true);
  assert.equal(((await (await app.api('/account')).json()) as { data: { hipaa: boolean } }).data.hipaa, false);

  // No public routes there (tracking, sign-ups, confirmations live on the standard listener), no /metrics.
  for (const path of ['/t/o/x.gif', '/subscribe/anything', '/metrics']) {
    const response = await undiciFetch(`${hipaaUrl}${path}`, { dispatcher: insecure });
    assert.equal(response.status, 404, path);
  }
});

test('HTTPS only, TLS 1.2 or newer, on the HIPAA API listener', async () => {
  const { port } = new URL(hipaaUrl);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'plain HTTP gets no answer');
  await assert.rejects(handshake(Number(port), 'TLSv1.1'), 'TLS 1.1 is refused');
  assert.equal(await handshake(Number(port), 'TLSv1.2'), 'TLSv1.2');
});

test('SMTP: implicit TLS only, TLS 1.2+, HIPAA accounts only; a HIPAA credential is refused on the standard submission port', async () => {
  const [host, port] = hipaaSmtp.split(':') as [string, string];
  const before = await messages();
  const hipaa = nodemailer.createTransport({ host, port: Number(port), secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'apikey', pass: hipaaKey } });
  const info = await hipaa.sendMail({ from: 'reminders@clinic.example', to: 'patient@example.com', subject: 'Results', text: 'Ready' });
  assert.match(info.response, /^250 /);
  assert.equal(await messages(), before + 1);

  const standardKey = nodemailer.createTransport({ host, port: Number(port), secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'apikey', pass: TEST_KEY } });
  await assert.rejects(standardKey.sendMail({ from: 'promo@elipackage.com', to: 'x@example.com', subject: 's', text: 't' }), (error: { responseCode?: number; response?: string }) => {
    assert.equal(error.responseCode, 530);
    assert.match(error.response ?? '', /5\.7\.0/);
    return true;
  });
  const noAuth = nodemailer.createTransport({ host, port: Number(port), secure: true, tls: { rejectUnauthorized: false } });
  await assert.rejects(noAuth.sendMail({ from: 'reminders@clinic.example', to: 'patient@example.com', subject: 's', text: 't' }), (error: { responseCode?: number }) => error.responseCode === 530);

  const [subHost, subPort] = submission.split(':') as [string, string];
  const offDoor = nodemailer.createTransport({ host: subHost, port: Number(subPort), secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'apikey', pass: hipaaKey } });
  await assert.rejects(offDoor.sendMail({ from: 'reminders@clinic.example', to: 'patient@example.com', subject: 's', text: 't' }), (error: { responseCode?: number; response?: string }) => {
    assert.equal(error.responseCode, 530);
    assert.match(error.response ?? '', /HIPAA endpoint/);
    return true;
  });
  assert.equal(await messages(), before + 1, 'nothing stored by the refusals');

  await assert.rejects(handshake(Number(port), 'TLSv1.1'), 'TLS 1.1 is refused');
  assert.equal(await handshake(Number(port), 'TLSv1.2'), 'TLSv1.2');
  assert.equal(await plainGreeting(Number(port)), '', 'no greeting in clear');
});

test('plain HTTP on the HIPAA API listener only on loopback: the configuration refuses it elsewhere', () => {
  const env = { MAILROOM_HIPAA_HTTP_PORT: '3443', MAILROOM_HIPAA_HTTP_PLAIN: '1' };
  assert.throws(() => loadConfig({ env: { ...env, MAILROOM_HIPAA_HTTP_HOST: '0.0.0.0' } }), /MAILROOM_HIPAA_HTTP_PLAIN: needs a loopback MAILROOM_HIPAA_HTTP_HOST/);
  assert.equal(loadConfig({ env: { ...env, MAILROOM_HIPAA_HTTP_HOST: '127.0.0.1' } }).hipaaHttpPlain, true);
});

function handshake(port: number, version: 'TLSv1.1' | 'TLSv1.2'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: version, maxVersion: version }, () => {
      const protocol = socket.getProtocol() ?? '';
      socket.destroy();
      resolve(protocol);
    });
    socket.once('error', reject);
  });
}

/** What a client that does not speak TLS reads within a second: nothing. */
function plainGreeting(port: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, 1_000);
  });
}
