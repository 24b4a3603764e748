import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Every other place an address, a domain or a one-line name enters through the API holds it to
 * the same rule as POST /emails: control and invisible characters (CR, LF, TAB, NUL, zero-width,
 * bidi overrides, line separators) are refused with 400 VALIDATION_ERROR naming the field, never
 * stripped and never stored.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
});
after(async () => app?.stop());

type ErrorBody = { error?: { code: string; details: { field: string; message: string }[] } };

async function refused(path: string, init: { method?: string; json?: unknown }, field: string): Promise<void> {
  const response = await app.api(path, init);
  const text = await response.text();
  assert.equal(response.status, 400, `${init.method ?? 'GET'} ${path} ${JSON.stringify(init.json)}: ${text}`);
  const body = JSON.parse(text) as ErrorBody;
  assert.equal(body.error?.code, 'VALIDATION_ERROR');
  assert.ok(body.error.details.some((detail) => detail.field === field), `${field} named: ${text}`);
}

const HIDDEN_IN_ADDRESS = ['a@example.com\t', 'a@exa\tmple.com', 'a@exa\u200bmple.com', 'a\u0085b@example.com', 'a@exa\u202emple.com', 'a@ex\u00adample.com'];
const HIDDEN_IN_NAME = ['crm\r\nx', 'crm\tx', 'crm\u0000', 'crm\u2028x', 'crm\u0085x', 'crm\u001bx', 'crm\u202ex'];

test('sender addresses (POST /senders) and message addresses (to, cc, from) refuse hidden characters', async () => {
  for (const email of HIDDEN_IN_ADDRESS) await refused('/senders', { method: 'POST', json: { email } }, 'email');
  for (const address of HIDDEN_IN_ADDRESS) {
    await refused('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: address } }, 'to');
    await refused('/emails', { method: 'POST', json: { ...SEED_REQUEST, cc: [address] } }, 'cc[0]');
  }
  await refused('/emails', { method: 'POST', json: { ...SEED_REQUEST, from: 'Promo\u0007 <promo@elipackage.com>' } }, 'from');
  const senders = await app.mailroom.db.query<{ email: string }>('SELECT email FROM senders');
  assert.deepEqual(senders.filter((row) => /[^\x21-\x7e]/.test(row.email)), []);
});

test('SMTP credential names and webhook descriptions are one line of visible text', async () => {
  for (const name of HIDDEN_IN_NAME) await refused('/smtp-credentials', { method: 'POST', json: { type: 'password', name } }, 'name');
  const ok = await app.api('/smtp-credentials', { method: 'POST', json: { type: 'password', name: 'CRM – production (EU)' } });
  assert.equal(ok.status, 201, await ok.clone().text());

  for (const description of HIDDEN_IN_NAME) await refused('/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/hook', description } }, 'description');
  const created = await app.api('/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/hook', description: 'Orders – ünïcode fine' } });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = ((await created.json()) as { data: { id: number } }).data;
  await refused(`/webhooks/${id}`, { method: 'PATCH', json: { description: 'a\r\nb' } }, 'description');
  // A URL with a TAB or a line break is not what new URL reads it as (it drops them).
  await refused('/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/ho\tok' } }, 'url');
  await refused('/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/ho\r\nok' } }, 'url');
  const stored = await app.mailroom.db.query<{ description: string; url: string }>('SELECT description, url FROM webhooks');
  assert.deepEqual(stored.filter((row) => /[\p{Cc}\u2028\u2029]/u.test(row.description + row.url)), []);
  const names = await app.mailroom.db.query<{ name: string }>('SELECT name FROM smtp_credentials');
  assert.deepEqual(names.filter((row) => /[\p{Cc}\u2028\u2029]/u.test(row.name)), []);
});

test('filters that name an address or a domain: GET /emails?to=&from=, POST /queue/retry {domain}', async () => {
  for (const address of ['a@example.com\r\n', 'a@exa\tmple.com', 'a@exa\u200bmple.com']) {
    await refused(`/emails?to=${encodeURIComponent(address)}`, {}, 'to');
    await refused(`/emails?from=${encodeURIComponent(address)}`, {}, 'from');
  }
  assert.equal((await app.api(`/emails?to=${encodeURIComponent('John.Doe@example.com')}`)).status, 200);
  for (const domain of ['example.com\r\nx', 'exa\tmple.com', 'exa\u200bmple.com', 'not a domain']) {
    await refused('/queue/retry', { method: 'POST', json: { domain } }, 'domain');
  }
  await refused('/queue/retry', { method: 'POST', json: { destination: 'mx.example.com\r\nx' } }, 'destination');
  const retried = await app.api('/queue/retry', { method: 'POST', json: { domain: 'Example.COM' } });
  assert.equal(retried.status, 200, await retried.clone().text());
});

test('template names keep their letters-and-digits pattern, which a trailing line break does not slip past', async () => {
  for (const name of ['welcome\n', 'wel\tcome', 'welcome\u200b']) {
    await refused('/templates', { method: 'POST', json: { name, subject: 'Hi', text: 'Hello' } }, 'name');
  }
});
