import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { addDomain } from '../../src/domains/domains.js';
import { eventually, otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/process.js';

/**
 * GET /emails/{id}/content (issue 18, the console's preview): a message's HTML and plain-text
 * parts, headers, and its attachments' names, types and sizes, never their bytes; another
 * account's message is not found; a HIPAA message's content is never shown.
 */
let app: TestApp;

before(async () => {
  app = await startTestApp({ MAILROOM_HIPAA_HTTP_PORT: String(await freePort()), MAILROOM_HIPAA_HTTP_PLAIN: '1' });
});
after(async () => {
  await app.stop();
});

interface Content {
  html: string | null;
  text: string | null;
  headers: { name: string; value: string }[];
  attachments: { filename: string | null; contentType: string | null; size: number }[];
}

test('the parts, the headers and the attachments of a message sent over HTTP', async () => {
  const notes = Buffer.from('line of notes\n'.repeat(250));
  const sent = await app.api('/emails', { method: 'POST', json: {
    from: 'promo@elipackage.com', to: 'john.doe@example.com', cc: ['ann@example.com'], subject: 'Your invoice',
    text: '<h1>Invoice</h1><p>Total: <b>12 EUR</b></p>', headers: { 'X-Order': 'A-17' },
    attachments: [{ filename: 'notes.txt', content: notes.toString('base64'), contentType: 'text/plain' }],
  } });
  assert.equal(sent.status, 200, await sent.clone().text());
  const { id } = ((await sent.json()) as { data: { id: string } }).data;
  const response = await app.api(`/emails/${id}/content`);
  assert.equal(response.status, 200);
  const body = await response.text();
  assert.ok(!body.includes(notes.toString('base64').slice(0, 40)), 'no attachment bytes');
  const content = (JSON.parse(body) as { data: Content }).data;
  assert.match(content.html ?? '', /<h1>Invoice<\/h1>/);
  assert.match(content.text ?? '', /INVOICE|Invoice/);
  assert.match(content.text ?? '', /Total: 12 EUR/);
  const headers = Object.fromEntries(content.headers.map((header) => [header.name, header.value]));
  assert.equal(headers.Subject, 'Your invoice');
  assert.equal(headers.Cc, 'ann@example.com');
  assert.equal(headers['X-Order'], 'A-17');
  assert.deepEqual(content.attachments, [{ filename: 'notes.txt', contentType: 'text/plain', size: notes.length }]);

  const plain = await app.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: 'Plain', text: 'Just text' } });
  const plainId = ((await plain.json()) as { data: { id: string } }).data.id;
  const plainContent = ((await (await app.api(`/emails/${plainId}/content`)).json()) as { data: Content }).data;
  assert.equal(plainContent.html, null);
  assert.equal(plainContent.text, 'Just text');

  const other = await otherAccountKey(app, 'other-co');
  assert.equal((await app.api(`/emails/${id}/content`, { key: other })).status, 404);
  assert.equal((await app.api('/emails/no-such-message/content')).status, 404);
});

test("a HIPAA message's content is never shown", async () => {
  const { db, secrets } = app.mailroom;
  await createAccount(db, secrets, 'clinic', { hipaa: true });
  const key = (await createKey(db, { accountName: 'clinic' })).key;
  await addDomain(db, secrets, (await requireAccount(db, 'clinic')).id, 'clinic.example', { verified: true });
  const hipaa = (path: string, init: RequestInit = {}) => fetch(app.mailroom.hipaa.url + path, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
  const sent = await hipaa('/emails', { method: 'POST', body: JSON.stringify({ from: 'lab@clinic.example', to: 'patient@example.org', subject: 'Results', text: '<p>Ready</p>' }) });
  assert.equal(sent.status, 200);
  const { id } = ((await sent.json()) as { data: { id: string } }).data;
  const response = await hipaa(`/emails/${id}/content`);
  assert.equal(response.status, 403);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'HIPAA_FEATURE_UNAVAILABLE');
});

test("a caught message's content, parsed from what the sandbox caught (GET /sandbox/messages/{id}/content)", async () => {
  const sent = await app.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'caught@example.com', subject: 'Caught one', text: '<p>Caught <b>HTML</b></p>' } });
  const { id } = ((await sent.json()) as { data: { id: string } }).data;
  const caught = await eventually(async () => {
    app.mailroom.worker?.wakeUp();
    const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; messageId: string }[] };
    return list.data.find((entry) => entry.messageId === id);
  }, 15_000, 'the message caught');
  const response = await app.api(`/sandbox/messages/${caught.id}/content`);
  assert.equal(response.status, 200);
  const content = ((await response.json()) as { data: Content }).data;
  assert.match(content.html ?? '', /<b>HTML<\/b>/);
  assert.match(content.text ?? '', /Caught HTML/);
  assert.ok(content.headers.some((header) => header.name === 'DKIM-Signature' || header.name === 'Message-ID'), JSON.stringify(content.headers.map((header) => header.name)));
  assert.equal((await app.api(`/sandbox/messages/${caught.id}/content`, { key: await otherAccountKey(app, 'third-co') })).status, 404);
});
