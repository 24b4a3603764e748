import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';
import { plainToken, SmtpClient } from '../helpers/smtpClient.js';
import { startSmtpSink, type SunkMessage } from '../helpers/smtpSink.js';

/**
 * SMTP submission end to end with real clients (Nodemailer, and a line-level client where the
 * protocol itself is the point): Mailroom relays what it accepts to a real SMTP server on
 * loopback, so what a recipient would get is checked byte for byte.
 */
let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let app: TestApp;
let submission: { host: string; port: number };
let smtps: { host: string; port: number };
let credential: { id: number; username: string; password: string };

function hostPort(address: string) {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

before(async () => {
  sink = await startSmtpSink();
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp(
    {
      MAILROOM_ROLES: 'api,smtp,worker',
      MAILROOM_SMTP_PORT: '0',
      MAILROOM_SMTPS_PORT: '0',
      MAILROOM_TRANSPORT: 'relay',
      MAILROOM_RELAY_URL: `smtp://127.0.0.1:${sink.port}?starttls=off`,
    },
    { store },
  );
  submission = hostPort(app.mailroom.smtp!.submission);
  smtps = hostPort(app.mailroom.smtp!.smtps);
  const response = await app.api('/smtp-credentials', { method: 'POST', json: { type: 'password', name: 'crm' } });
  assert.equal(response.status, 201, await response.clone().text());
  credential = ((await response.json()) as { data: typeof credential }).data;
});
after(async () => {
  await app.stop();
  await store.dispose();
  await sink.close();
});

function starttlsTransport(auth: { user: string; pass: string }, method: 'PLAIN' | 'LOGIN' = 'PLAIN') {
  return nodemailer.createTransport({ ...submission, requireTLS: true, authMethod: method, auth, tls: { rejectUnauthorized: false } });
}

function queuedIds(response: string): string[] {
  const match = /^250 2\.0\.0 Ok: queued as ((?:[0-9a-z]{22} ?)+)$/.exec(response);
  assert.ok(match, `a 250 naming the ids, got: ${response}`);
  return match[1]!.trim().split(' ');
}

interface EmailView {
  id: string;
  to: string;
  from: string;
  subject: string;
  text: string;
  status: string;
  externalId: string | null;
  clientId: string | null;
  callbacks: string[];
  campaignId: string | null;
  tags: string[];
  cc: string[];
  bcc: string[];
  submittedBy: string;
}

async function email(id: string): Promise<EmailView> {
  const response = await app.api(`/emails/${id}`);
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: EmailView }).data;
}

async function arrived(id: string): Promise<SunkMessage> {
  return eventually(async () => {
    app.mailroom.worker!.wakeUp();
    return sink.messages.find((message) => message.from.includes(id));
  }, 15_000, `message ${id} at the sink`);
}

/** The message as the recipient gets it, without Mailroom's own DKIM signature. */
function unsigned(raw: Buffer): string {
  return raw.toString('latin1').replace(/^DKIM-Signature:.*\r\n(?:[ \t].*\r\n)*/gim, '');
}

test('EHLO before TLS offers STARTTLS and the extensions but not AUTH; AUTH there is refused; after STARTTLS AUTH is offered', async () => {
  const { client, greeting } = await SmtpClient.connect(app.mailroom.smtp!.submission);
  assert.equal(greeting.code, 220);
  const ehlo = await client.command('EHLO client.example');
  assert.equal(ehlo.code, 250);
  for (const extension of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', 'SIZE 10485760']) {
    assert.ok(ehlo.lines.includes(extension), `EHLO offers ${extension}: ${ehlo.text}`);
  }
  assert.ok(!ehlo.lines.some((line) => line.startsWith('AUTH')), 'no AUTH before TLS');
  const auth = await client.command(`AUTH PLAIN ${plainToken(credential.username, credential.password)}`);
  assert.equal(auth.text, '530 5.7.0 Must issue a STARTTLS command first', 'AUTH before TLS is refused as RFC 3207 says');
  assert.equal((await client.startTls()).code, 220);
  const secured = await client.command('EHLO client.example');
  assert.ok(secured.lines.includes('AUTH PLAIN LOGIN'), secured.text);
  assert.ok(!secured.lines.includes('STARTTLS'));
  const ok = await client.command(`AUTH PLAIN ${plainToken(credential.username, credential.password)}`);
  assert.equal(ok.code, 235);
  client.close();
});

test('STARTTLS and AUTH PLAIN with an SMTP credential: stored, relayed, and shown by the API', async () => {
  const info = await starttlsTransport({ user: credential.username, pass: credential.password }).sendMail({
    from: 'Promo <promo@elipackage.com>',
    to: 'john.doe@example.com',
    subject: 'Spring sale',
    text: 'Everything is 20% off this week.',
  });
  const [id] = queuedIds(info.response);
  const stored = await email(id!);
  assert.equal(stored.to, 'john.doe@example.com');
  assert.equal(stored.from, 'Promo <promo@elipackage.com>');
  assert.equal(stored.subject, 'Spring sale');
  assert.equal(stored.text, 'Everything is 20% off this week.');
  assert.equal(stored.submittedBy, 'smtp');
  const message = await arrived(id!);
  assert.deepEqual(message.to, ['john.doe@example.com']);
  assert.match(message.from, /^bounces\+/, 'the Return-Path is the VERP address');
  const parsed = await simpleParser(message.raw);
  assert.equal(parsed.subject, 'Spring sale');
  assert.match(message.raw.toString('latin1'), /^DKIM-Signature: v=1;[^]*?a=rsa-sha256;[^]*?d=elipackage\.com;/m);
  await eventually(async () => (await email(id!)).status === 'SENT', 10_000, 'SENT');
});

test('implicit TLS and AUTH LOGIN with an API key as the password of "apikey"', async () => {
  const transport = nodemailer.createTransport({ ...smtps, secure: true, authMethod: 'LOGIN', auth: { user: 'apikey', pass: app.key }, tls: { rejectUnauthorized: false } });
  const info = await transport.sendMail({ from: 'promo@elipackage.com', to: 'jane@example.net', subject: 'Receipt', text: 'Thanks.' });
  const [id] = queuedIds(info.response);
  assert.equal((await email(id!)).to, 'jane@example.net');
});

test('to, cc and bcc recipients each get their own id and status; every copy has the same headers and none shows Bcc', async () => {
  const info = await starttlsTransport({ user: 'apikey', pass: app.key }).sendMail({
    from: 'promo@elipackage.com',
    to: 'to.one@example.com',
    cc: 'cc.two@example.org',
    bcc: 'bcc.three@example.net',
    subject: 'Three copies',
    text: 'Same for all.',
  });
  const ids = queuedIds(info.response);
  assert.equal(ids.length, 3);
  assert.equal(new Set(ids).size, 3);
  const views = await Promise.all(ids.map(email));
  assert.deepEqual(views.map((view) => view.to), ['to.one@example.com', 'cc.two@example.org', 'bcc.three@example.net']);
  assert.deepEqual(views[0]!.bcc, ['bcc.three@example.net']);
  const copies = await Promise.all(ids.map(arrived));
  copies.forEach((copy, index) => assert.deepEqual(copy.to, [views[index]!.to], 'one recipient per transaction (its own VERP address)'));
  const bodies = copies.map((copy) => unsigned(copy.raw));
  assert.equal(bodies[1], bodies[0]);
  assert.equal(bodies[2], bodies[0]);
  assert.doesNotMatch(bodies[0]!, /^bcc:/im);
  assert.doesNotMatch(bodies[0]!, /bcc\.three/i);
  for (const id of ids) await eventually(async () => (await email(id)).status === 'SENT', 10_000, `${id} SENT`);
});

test('the Mailroom headers are read into the message and removed before delivery', async () => {
  const info = await starttlsTransport({ user: 'apikey', pass: app.key }).sendMail({
    from: 'promo@elipackage.com',
    to: 'tagged@example.com',
    subject: 'With options',
    text: 'Options ride in headers.',
    headers: {
      'X-Mailroom-External-Id': 'spring.sale:2026_a-1',
      'X-Mailroom-Client-Id': 'customer 48118112',
      'X-Mailroom-Callbacks': 'https://hooks.example.com/a, https://hooks.example.com/b',
      'X-Mailroom-Campaign': 'spring-2026',
      'X-Mailroom-Tags': 'promo, spring',
      'X-Mailroom-Track': 'opens',
      'X-Mailroom-Idempotency-Key': 'order-1001',
    },
  });
  const [id] = queuedIds(info.response);
  const stored = await email(id!);
  assert.equal(stored.externalId, 'spring.sale:2026_a-1');
  assert.equal(stored.clientId, 'customer 48118112');
  assert.deepEqual(stored.callbacks, ['https://hooks.example.com/a', 'https://hooks.example.com/b']);
  assert.equal(stored.campaignId, 'spring-2026');
  assert.deepEqual(stored.tags, ['promo', 'spring']);
  const [row] = await app.mailroom.db.query<{ content: { trackOpens: boolean | null; trackClicks: boolean | null } }>('SELECT content FROM messages WHERE id = $1', [id]);
  assert.deepEqual([row!.content.trackOpens, row!.content.trackClicks], [true, false]);
  const message = await arrived(id!);
  assert.doesNotMatch(message.raw.toString('latin1'), /^x-mailroom-/im);
});

test('X-Mailroom-Track and X-Mailroom-Type: marketing: the submitted MIME gets tracked links, the pixel and RFC 8058 unsubscription; the attachment keeps its bytes', async () => {
  const attachment = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3000)]);
  const info = await starttlsTransport({ user: 'apikey', pass: app.key }).sendMail({
    from: 'promo@elipackage.com',
    to: 'tracked@example.com',
    subject: 'Tracked over SMTP',
    text: 'Sale: https://shop.example/sale',
    html: '<p>Our <a href="https://shop.example/sale">sale</a></p>',
    attachments: [{ filename: 'data.pdf', content: attachment, contentType: 'application/pdf' }],
    headers: { 'X-Mailroom-Track': 'opens, clicks', 'X-Mailroom-Type': 'marketing' },
  });
  const [id] = queuedIds(info.response);
  const [row] = await app.mailroom.db.query<{ content: { type: string } }>('SELECT content FROM messages WHERE id = $1', [id]);
  assert.equal(row!.content.type, 'marketing');
  const delivered = await simpleParser((await arrived(id!)).raw);
  const html = String(delivered.html);
  assert.match(html, /<a href="http:\/\/127\.0\.0\.1:3000\/t\/c\/[^"]+">sale<\/a>/);
  assert.match(html, /<img src="http:\/\/127\.0\.0\.1:3000\/t\/o\/[^"]+\.gif"/);
  assert.match(html, /\/u\/[^"]+">Unsubscribe<\/a>/);
  assert.match(String(delivered.text), /^Sale: https:\/\/shop\.example\/sale\n\nUnsubscribe: http:\/\/127\.0\.0\.1:3000\/u\//);
  assert.ok(delivered.headerLines.some((line) => line.key === 'list-unsubscribe-post' && /List-Unsubscribe=One-Click/.test(line.line)));
  assert.ok(delivered.attachments[0]!.content.equals(attachment));
  assert.equal((await starttlsTransport({ user: 'apikey', pass: app.key }).sendMail({
    from: 'promo@elipackage.com', to: 'x@example.com', subject: 's', text: 't', headers: { 'X-Mailroom-Type': 'newsletter' },
  }).catch((error: Error) => error.message)).toString().includes('X-Mailroom-Type'), true);
});

test('X-Mailroom-Idempotency-Key: the same submission again answers the same id and stores nothing new; another message under the key is refused', async () => {
  const raw = [
    'From: promo@elipackage.com',
    'To: once@example.com',
    'Subject: Only once',
    'Message-ID: <order-2002@elipackage.com>',
    'X-Mailroom-Idempotency-Key: order-2002',
    '',
    'Charged once.',
  ].join('\r\n');
  const send = async (body: string) => {
    const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission);
    await client.command('EHLO client.example');
    await client.startTls();
    await client.command('EHLO client.example');
    assert.equal((await client.command(`AUTH PLAIN ${plainToken('apikey', app.key)}`)).code, 235);
    assert.equal((await client.command('MAIL FROM:<promo@elipackage.com>')).code, 250);
    assert.equal((await client.command('RCPT TO:<once@example.com>')).code, 250);
    const { end } = await client.data(body);
    client.close();
    return end!;
  };
  const first = await send(raw);
  assert.equal(first.code, 250, first.text);
  const [id] = queuedIds(first.text);
  const before = await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');
  const again = await send(raw);
  assert.equal(again.code, 250, again.text);
  assert.match(again.text, new RegExp(`idempotent replay\\) as ${id}$`));
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages'), before);
  const other = await send(raw.replace('Charged once.', 'Charged twice?'));
  assert.equal(other.code, 550, other.text);
  assert.equal(other.enhanced, '5.6.0');
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages'), before);
});

test('a message with attachments arrives at the relay with the same parts and attachment hashes', async () => {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(40_000)]);
  const csv = Buffer.from('sku,qty\nA-1,3\nB-2,1\nÄÖÜ,0\n', 'utf8');
  const info = await starttlsTransport({ user: credential.username, pass: credential.password }, 'LOGIN').sendMail({
    from: 'billing@elipackage.com',
    to: 'buyer@example.com',
    subject: 'Your invoice',
    text: 'Invoice attached.',
    html: '<p>Invoice <b>attached</b>.</p>',
    attachments: [
      { filename: 'invoice.pdf', content: pdf, contentType: 'application/pdf' },
      { filename: 'order.txt', content: csv, contentType: 'text/plain' },
    ],
  });
  const [id] = queuedIds(info.response);
  const parsed = await simpleParser((await arrived(id!)).raw);
  assert.equal(parsed.text?.trim(), 'Invoice attached.');
  assert.equal(parsed.html, '<p>Invoice <b>attached</b>.</p>');
  const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  assert.deepEqual(
    parsed.attachments.map((attachment) => [attachment.filename, attachment.contentType, digest(attachment.content)]),
    [['invoice.pdf', 'application/pdf', digest(pdf)], ['order.txt', 'text/plain', digest(csv)]],
  );
  const stored = await email(id!);
  assert.equal(stored.text, 'Invoice attached.');
});

test('SMTPUTF8 and 8BITMIME: a UTF-8 address and UTF-8 headers are accepted as sent; bare LF line ends become CRLF', async () => {
  const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission);
  await client.command('EHLO client.example');
  await client.startTls();
  await client.command('EHLO client.example');
  await client.command(`AUTH PLAIN ${plainToken('apikey', app.key)}`);
  assert.equal((await client.command('MAIL FROM:<promo@elipackage.com> SMTPUTF8 BODY=8BITMIME')).code, 250);
  const rcpt = await client.command('RCPT TO:<zoë@bücher.de>');
  assert.equal(rcpt.code, 250, rcpt.text);
  const message = Buffer.from('From: promo@elipackage.com\nTo: zoë@bücher.de\nSubject: Grüße aus Köln\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nFröhliche Grüße\n', 'utf8');
  const { end } = await client.data(message);
  client.close();
  assert.equal(end!.code, 250, end!.text);
  const [id] = queuedIds(end!.text);
  const stored = await email(id!);
  assert.equal(stored.subject, 'Grüße aus Köln');
  assert.equal(stored.to, 'zoë@bücher.de');
  assert.equal(stored.text, 'Fröhliche Grüße');
  const arrivedRaw = (await arrived(id!)).raw;
  assert.doesNotMatch(arrivedRaw.toString('latin1'), /[^\r]\n/, 'CRLF only');
  assert.match(arrivedRaw.toString('utf8'), /^Subject: Grüße aus Köln\r$/m);
});

test('a message without Message-ID or Date gets both; a client Message-ID is kept', async () => {
  const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission);
  await client.command('EHLO client.example');
  await client.startTls();
  await client.command('EHLO client.example');
  await client.command(`AUTH PLAIN ${plainToken('apikey', app.key)}`);
  await client.command('MAIL FROM:<promo@elipackage.com>');
  await client.command('RCPT TO:<bare@example.com>');
  const { end } = await client.data('From: promo@elipackage.com\r\nTo: bare@example.com\r\nSubject: bare\r\n\r\nbody\r\n');
  const [id] = queuedIds(end!.text);
  await client.command('MAIL FROM:<promo@elipackage.com>');
  await client.command('RCPT TO:<kept@example.com>');
  const second = await client.data('From: promo@elipackage.com\r\nMessage-ID: <mine.1@elipackage.com>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nSubject: kept\r\n\r\nbody\r\n');
  client.close();
  const [keptId] = queuedIds(second.end!.text);
  const added = (await arrived(id!)).raw.toString('latin1');
  assert.match(added, new RegExp(`^Message-ID: <${id}@elipackage\\.com>\\r$`, 'm'));
  assert.match(added, /^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r$/m);
  const kept = (await arrived(keptId!)).raw.toString('latin1');
  assert.match(kept, /^Message-ID: <mine\.1@elipackage\.com>\r$/m);
  assert.equal(kept.match(/^Message-ID:/gim)?.length, 1);
  assert.match(kept, /^Date: Tue, 01 Dec 2026 10:00:00 \+0000\r$/m);
});

test('PIPELINING: a whole transaction in one write is answered in order', async () => {
  const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission);
  await client.command('EHLO client.example');
  await client.startTls();
  await client.command('EHLO client.example');
  client.write(`AUTH PLAIN ${plainToken('apikey', app.key)}\r\nMAIL FROM:<promo@elipackage.com>\r\nRCPT TO:<p1@example.com>\r\nRCPT TO:<p2@example.com>\r\nDATA\r\n`);
  const codes = [];
  for (let i = 0; i < 5; i++) codes.push((await client.read()).code);
  assert.deepEqual(codes, [235, 250, 250, 250, 354]);
  client.write('From: promo@elipackage.com\r\nSubject: piped\r\n\r\nhi\r\n.\r\nQUIT\r\n');
  const end = await client.read();
  assert.equal(queuedIds(end.text).length, 2);
  assert.equal((await client.read()).code, 221);
  client.close();
});

test('SMTP credentials: listed without secrets, revoked credentials stop working, bad input is a 400', async () => {
  const list = (await (await app.api('/smtp-credentials')).json()) as { data: Record<string, unknown>[] };
  const mine = list.data.find((entry) => entry.id === credential.id)!;
  assert.equal(mine.username, credential.username);
  assert.equal('password' in mine, false);
  assert.doesNotMatch(JSON.stringify(list), new RegExp(credential.password));
  const [row] = await app.mailroom.db.query<{ password_hash: string }>('SELECT password_hash FROM smtp_credentials WHERE id = $1', [credential.id]);
  assert.match(row!.password_hash, /^scrypt\$/);
  assert.ok(!row!.password_hash.includes(credential.password));

  const created = (await (await app.api('/smtp-credentials', { method: 'POST', json: { type: 'password' } })).json()) as { data: typeof credential };
  const transport = starttlsTransport({ user: created.data.username, pass: created.data.password });
  await transport.sendMail({ from: 'promo@elipackage.com', to: 'a@example.com', subject: 'x', text: 'y' });
  assert.equal((await app.api(`/smtp-credentials/${created.data.id}`, { method: 'DELETE' })).status, 200);
  await assert.rejects(starttlsTransport({ user: created.data.username, pass: created.data.password }).sendMail({ from: 'promo@elipackage.com', to: 'a@example.com', subject: 'x', text: 'y' }), /535 5\.7\.8/);
  assert.equal((await app.api(`/smtp-credentials/${created.data.id}`, { method: 'DELETE' })).status, 404);

  for (const body of [{ type: 'ip' }, { type: 'ip', address: '10.0.0.0/33' }, { type: 'ip', address: 'example.com' }, { type: 'password', address: '10.0.0.1' }, { type: 'other' }]) {
    const response = await app.api('/smtp-credentials', { method: 'POST', json: body });
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'VALIDATION_ERROR');
  }
  const range = (await (await app.api('/smtp-credentials', { method: 'POST', json: { type: 'ip', address: '10.1.2.3/16' } })).json()) as { data: { address: string } };
  assert.equal(range.data.address, '10.1.0.0/16');
});
