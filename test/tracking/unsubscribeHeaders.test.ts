import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';

/**
 * Mailroom's unsubscribe header fields always win on marketing mail: a caller cannot put its own
 * List-Unsubscribe (or -Post) in the `headers` field, and a submitted MIME message's own are
 * replaced, so an RFC 8058 one-click always reaches Mailroom's suppression list. Nor may the
 * `headers` field set the MIME structure, the addressing and trace fields, authentication results
 * or X-Mailroom-*. What was delivered is read back from the sandbox catcher.
 */
let store: TestStore;
let app: TestApp;
let submission: { host: string; port: number };

before(async () => {
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({
    MAILROOM_ROLES: 'api,smtp,worker',
    MAILROOM_SMTP_PORT: '0',
    MAILROOM_SMTPS_PORT: '0',
    MAILROOM_SMTP_INSECURE_AUTH: '1',
    MAILROOM_TRANSPORT: 'sandbox',
    MAILROOM_PUBLIC_URL: 'https://mail.mailroom.test',
  }, { store });
  const address = app.mailroom.smtp!.submission;
  submission = { host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) };
});
after(async () => {
  await app.stop();
  await store.dispose();
});

/** The raw message the sandbox caught for a Mailroom message id. */
async function delivered(id: string): Promise<string> {
  const entry = await eventually(async () => {
    const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; messageId: string }[] };
    return list.data.find((caught) => caught.messageId === id);
  }, 15_000, `message ${id} in the sandbox`);
  return ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
}

/** Every header field of a name, unfolded, as written. */
function fields(raw: string, name: string): string[] {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n(?=[ \t])/g, '');
  return head.split('\r\n').filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((line) => line.slice(name.length + 1).trim());
}

const RESERVED = [
  'List-Unsubscribe', 'List-Unsubscribe-Post', 'list-unsubscribe', 'Content-Disposition', 'Content-Type', 'content-transfer-encoding', 'Content-ID',
  'MIME-Version', 'X-Mailroom-Type', 'X-Mailroom-Callbacks', 'x-mailroom-anything', 'Received', 'Return-Path', 'Delivered-To', 'Resent-From',
  'DKIM-Signature', 'ARC-Seal', 'ARC-Authentication-Results', 'Authentication-Results', 'Sender', 'From', 'Message-ID', 'Date',
];

test('the headers field refuses every header Mailroom writes or that describes the structure: 400 naming the field', async () => {
  for (const name of RESERVED) {
    for (const type of ['marketing', 'transactional']) {
      const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, type, headers: { 'X-Order': '42', [name]: '<mailto:leave@evil.example>' } } });
      const body = (await response.json()) as { error?: { code: string; details: { field: string; message: string }[] } };
      assert.equal(response.status, 400, `${name} on ${type}`);
      assert.equal(body.error?.code, 'VALIDATION_ERROR');
      assert.deepEqual(body.error.details.map((detail) => detail.field), [`headers.${name}`], name);
    }
  }
});

test('headers of the caller\'s own are delivered as given (the control)', async () => {
  const headers = { 'X-Order': '42', 'List-Id': 'Offers <offers.elipackage.com>', References: '<a@elipackage.com>', 'In-Reply-To': '<a@elipackage.com>', Precedence: 'bulk' };
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, type: 'marketing', headers } });
  assert.equal(response.status, 200, await response.clone().text());
  const raw = await delivered(((await response.json()) as { data: { id: string } }).data.id);
  for (const [name, value] of Object.entries(headers)) assert.deepEqual(fields(raw, name), [value], name);
  assert.equal(fields(raw, 'List-Unsubscribe').length, 1);
  assert.match(fields(raw, 'List-Unsubscribe')[0]!, /^<https:\/\/mail\.mailroom\.test\/u\/[^>]+>$/);
});

function transport() {
  return nodemailer.createTransport({ ...submission, secure: false, ignoreTLS: true, auth: { user: 'apikey', pass: app.key } });
}

function queuedId(response: string): string {
  return /queued as ([0-9a-z]+)/.exec(response)![1]!;
}

test('SMTP marketing mail: the submitted List-Unsubscribe and -Post are replaced by Mailroom\'s one-click; X-Mailroom-* fields are gone', async () => {
  const smtp = transport();
  const info = await smtp.sendMail({
    from: 'promo@elipackage.com', to: 'reader@example.com', subject: 'Sale', text: 'Buy now', html: '<p>Buy now</p>',
    headers: {
      'X-Mailroom-Type': 'marketing',
      'X-Mailroom-Tags': 'sale',
      'List-Unsubscribe': '<https://evil.example/unsub?who=reader>, <mailto:leave@evil.example>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'X-Order': '42',
    },
  });
  smtp.close();
  const raw = await delivered(queuedId(info.response));
  const unsubscribe = fields(raw, 'List-Unsubscribe');
  assert.equal(unsubscribe.length, 1, unsubscribe.join(' | '));
  assert.match(unsubscribe[0]!, /^<https:\/\/mail\.mailroom\.test\/u\/[^>]+>$/);
  assert.ok(!raw.includes('evil.example'), 'nothing of the caller\'s unsubscribe is left');
  assert.deepEqual(fields(raw, 'List-Unsubscribe-Post'), ['List-Unsubscribe=One-Click']);
  assert.deepEqual(fields(raw, 'X-Order'), ['42']);
  assert.ok(!/^x-mailroom-/im.test(raw.slice(0, raw.indexOf('\r\n\r\n'))), 'no X-Mailroom-* field is delivered');
  // The one-click URL is Mailroom's own: it unsubscribes through the suppression list.
  const parsed = await simpleParser(raw);
  assert.ok(String(parsed.text).includes(unsubscribe[0]!.slice(1, -1)), 'the same link is in the body');
});

test('SMTP transactional mail keeps the sender\'s own List-Unsubscribe (Mailroom adds none there)', async () => {
  const smtp = transport();
  const info = await smtp.sendMail({
    from: 'promo@elipackage.com', to: 'reader@example.com', subject: 'Receipt', text: 'Thanks',
    headers: { 'List-Unsubscribe': '<mailto:leave@elipackage.com>' },
  });
  smtp.close();
  const raw = await delivered(queuedId(info.response));
  assert.deepEqual(fields(raw, 'List-Unsubscribe'), ['<mailto:leave@elipackage.com>']);
  assert.deepEqual(fields(raw, 'List-Unsubscribe-Post'), []);
});
