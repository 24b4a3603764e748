import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { addDomain } from '../../src/domains/domains.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore } from '../helpers/process.js';

/**
 * Issue 17, item 6: what a HIPAA account may not use answers 403 HIPAA_FEATURE_UNAVAILABLE naming
 * the feature (SMTP: 550 5.7.1), and stores nothing; the sandbox catcher keeps no content of its
 * messages; its mail never gets tracked links.
 */
let app: TestApp;
let store: TestStore;
let hipaaKey: string;
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
    MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1',
  }, { store });
  const { db, secrets } = app.mailroom;
  await createAccount(db, secrets, 'clinic', { hipaa: true });
  hipaaKey = (await createKey(db, { accountName: 'clinic' })).key;
  await addDomain(db, secrets, (await requireAccount(db, 'clinic')).id, 'clinic.example', { verified: true });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await insecure.close();
});

async function hipaa(path: string, method = 'GET', json?: unknown): Promise<{ status: number; body: { data?: { id: string }; error?: { code: string; message: string; details: { field: string }[] } } }> {
  const response = await undiciFetch(`${app.mailroom.hipaa.url}${path}`, {
    method, dispatcher: insecure,
    headers: { authorization: `Bearer ${hipaaKey}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

const reminder = { from: 'lab@clinic.example', to: 'patient@example.com', subject: 'Results', text: 'Ready', html: '<p>See <a href="https://portal.example/results/123">your results</a></p>' };

test('every excluded feature answers its refusal, naming it, and stores nothing', async () => {
  const before = await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');
  const refusals: [string, string, unknown, string][] = [
    ['GET', '/sandbox/messages', undefined, 'sandbox'],
    ['POST', '/templates', { name: 'with-defaults', subject: 'Hi {{name}}', text: 'x', defaults: { name: 'friend' } }, 'Default placeholder'],
    ['POST', '/lists', { name: 'patients' }, 'Lists'],
    ['GET', '/campaigns', undefined, 'campaigns'],
    ['GET', '/campaigns/any/recipients.csv?event=delivered', undefined, 'Per-recipient exports'],
    ['POST', '/emails', { ...reminder, trackClicks: true }, 'Click tracking'],
    ['POST', '/emails', { ...reminder, callbacks: ['patient=Jane Doe; dob=1970-01-01'] }, 'Free-form callback data'],
    ['PATCH', '/account', { trackClicks: true }, 'Click tracking'],
  ];
  for (const [method, path, body, feature] of refusals) {
    const { status, body: answer } = await hipaa(path, method, body);
    assert.equal(status, 403, `${method} ${path}: ${JSON.stringify(answer)}`);
    assert.equal(answer.error?.code, 'HIPAA_FEATURE_UNAVAILABLE', `${method} ${path}`);
    assert.match(answer.error!.message, new RegExp(feature, 'i'), `${method} ${path}`);
  }
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages'), before);
  assert.equal(await countOf(app.mailroom.db, "SELECT count(*) AS n FROM lists"), 0);

  // A template without defaults is fine; its preview is not.
  const template = await hipaa('/templates', 'POST', { name: 'results', subject: 'Results for {{name}}', text: 'Hello {{name}}' });
  assert.equal(template.status, 201);
  const preview = await hipaa(`/templates/${template.body.data!.id}/preview`, 'POST', { placeholders: { name: 'Jane' } });
  assert.equal(preview.status, 403);
  assert.equal(preview.body.error?.code, 'HIPAA_FEATURE_UNAVAILABLE');
  // Plain callback URLs are fine.
  assert.equal((await hipaa('/emails', 'POST', { ...reminder, callbacks: ['http://127.0.0.1:9/hook'] })).status, 200);
});

test('SMTP: click tracking asked by header is refused with 550 5.7.1', async () => {
  const [host, port] = app.mailroom.hipaa.smtp!.split(':') as [string, string];
  const transport = nodemailer.createTransport({ host, port: Number(port), secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'apikey', pass: hipaaKey } });
  await assert.rejects(transport.sendMail({ ...reminder, headers: { 'X-Mailroom-Track': 'clicks' } }), (error: { responseCode?: number; response?: string }) => {
    assert.equal(error.responseCode, 550);
    assert.match(error.response ?? '', /5\.7\.1 Click tracking is not available to HIPAA accounts/);
    return true;
  });
  transport.close();
});

test('the sandbox catcher keeps no content of a HIPAA message', async () => {
  const sent = await hipaa('/emails', 'POST', { ...reminder, trackOpens: true });
  assert.equal(sent.status, 200);
  const id = sent.body.data!.id;
  const row = await eventually(async () => {
    const [caught] = await app.mailroom.db.query<{ subject: string; raw: string }>('SELECT subject, raw FROM sandbox_messages WHERE message_id = $1', [id]);
    return caught;
  }, 15_000, 'caught');
  assert.deepEqual(row, { subject: '', raw: '' });
});
