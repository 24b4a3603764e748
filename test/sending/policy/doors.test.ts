import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';

type MailOptions = Parameters<ReturnType<typeof nodemailer.createTransport>['sendMail']>[0];
import { createKey } from '../../../src/accounts/apiKeys.js';
import { createAccount } from '../../../src/accounts/accounts.js';
import { addDomain } from '../../../src/domains/domains.js';
import { setRateLimits } from '../../../src/sending/policy/accountPolicy.js';
import { SEED_REQUEST, startTestApp, type TestApp } from '../../helpers/app.js';
import { countOf, createTestStore, sealerOf, type TestStore } from '../../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../../helpers/dnsServer.js';
import { prepareStore } from '../../helpers/process.js';
import { plainToken, SmtpClient, type Reply } from '../../helpers/smtpClient.js';

/**
 * Every refusal of the policy step, through both doors: POST /emails (status, code, field) and
 * SMTP submission (reply code and enhanced code, at the stage it belongs to). The checks are the
 * pipeline's, so each pair must agree; nothing refused may be stored. Recipient domains are
 * checked against a DNS server this file starts.
 */
let store: TestStore;
let dns: TestDnsServer;
let app: TestApp;
let limitedKey: string;

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const PER_DAY = 3;

before(async () => {
  dns = await startDnsServer({
    'example.com': { MX: [{ exchange: 'mx.example.com', priority: 10 }] },
    'mx.example.com': { A: ['192.0.2.25'] },
    'implicit.example': { A: ['192.0.2.10'] },
    'xn--bcher-kva.example': { AAAA: ['2001:db8::25'] },
    'nomail.example': { TXT: ['v=spf1 -all'] },
  });
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  const db = await store.open();
  try {
    const limited = await createAccount(db, sealerOf(store), 'limited');
    await addDomain(db, sealerOf(store), Number(limited.id), 'limited.example', { verified: true });
    limitedKey = (await createKey(db, { accountName: 'limited' })).key;
    await setRateLimits(db, 'limited', 0, PER_DAY);
  } finally {
    await db.close();
  }
  app = await startTestApp({
    MAILROOM_ROLES: 'api,smtp',
    MAILROOM_SMTP_PORT: '0',
    MAILROOM_SMTPS_PORT: '0',
    MAILROOM_SMTP_INSECURE_AUTH: '1',
    MAILROOM_REQUIRE_VERIFIED_SENDER: 'on',
    MAILROOM_CHECK_RECIPIENT_DOMAINS: '1',
    MAILROOM_DNS_SERVERS: dns.address,
  }, { store });
});
after(async () => {
  await app.stop();
  await store.dispose();
  await dns.close();
});

const stored = () => countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');

async function post(body: Record<string, unknown>, key?: string) {
  const response = await app.api('/emails', { method: 'POST', json: body, ...(key ? { key } : {}) });
  return { response, json: (await response.json()) as { data?: { id: string; status: string }; warnings?: { field: string; message: string }[]; error?: { code: string; details: { field: string; message: string }[] } } };
}

async function refusedOverHttp(body: Record<string, unknown>, status: number, code: string, field: string): Promise<void> {
  const before = await stored();
  const { response, json } = await post({ ...SEED_REQUEST, ...body });
  assert.equal(response.status, status, JSON.stringify(json));
  assert.equal(json.error?.code, code);
  assert.ok(json.error.details.some((detail) => detail.field === field), `a detail for ${field}: ${JSON.stringify(json.error.details)}`);
  assert.equal(await stored(), before, 'nothing refused is stored');
}

/** An authenticated SMTP session (AUTH without TLS is allowed in this file). */
async function smtp(key = app.key): Promise<SmtpClient> {
  const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission);
  await client.command('EHLO client.example');
  const auth = await client.command(`AUTH PLAIN ${plainToken('apikey', key)}`);
  assert.equal(auth.code, 235, auth.text);
  return client;
}

function expectReply(reply: Reply | null, code: number, enhanced: string, text?: RegExp): void {
  assert.ok(reply, 'a reply');
  assert.equal(reply.code, code, reply.text);
  assert.equal(reply.enhanced, enhanced, reply.text);
  if (text) assert.match(reply.text, text);
}

function mime(options: MailOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(options, (error, info) => (error ? reject(error) : resolve(info.message as Buffer)));
  });
}

test('an unverified sender: 403 SENDER_NOT_VERIFIED over HTTP, 550 5.7.1 at MAIL FROM', async () => {
  await refusedOverHttp({ from: 'offers@unverified.example' }, 403, 'SENDER_NOT_VERIFIED', 'from');
  const client = await smtp();
  expectReply(await client.command('MAIL FROM:<offers@unverified.example>'), 550, '5.7.1', /not verified/);
  client.close();
});

test('malformed addresses: 400 VALIDATION_ERROR naming the field, 553 5.1.3 at RCPT; an IDN domain is accepted', async () => {
  await refusedOverHttp({ to: 'john.doe@@example.com' }, 400, 'VALIDATION_ERROR', 'to');
  await refusedOverHttp({ cc: ['ok@example.com', 'a b@example.com'] }, 400, 'VALIDATION_ERROR', 'cc[1]');
  await refusedOverHttp({ to: 'john@-bad-.example' }, 400, 'VALIDATION_ERROR', 'to');
  const client = await smtp();
  expectReply(await client.command('MAIL FROM:<promo@elipackage.com>'), 250, '2.1.0');
  expectReply(await client.command(`RCPT TO:<${'a'.repeat(65)}@example.com>`), 553, '5.1.3', /longer than 64 octets/);
  client.close();

  const { response, json } = await post({ ...SEED_REQUEST, to: 'kunde@bücher.example' });
  assert.equal(response.status, 200, JSON.stringify(json));
  assert.equal(json.data?.status, 'QUEUED');
});

test('role addresses: 422 ROLE_ADDRESS_NOT_ALLOWED for to, cc and bcc, 550 5.7.1 at RCPT, until the account allows them', async () => {
  await refusedOverHttp({ to: 'postmaster@example.com' }, 422, 'ROLE_ADDRESS_NOT_ALLOWED', 'to');
  await refusedOverHttp({ cc: ['abuse@example.com'] }, 422, 'ROLE_ADDRESS_NOT_ALLOWED', 'cc[0]');
  await refusedOverHttp({ bcc: ['support+tickets@example.com'] }, 422, 'ROLE_ADDRESS_NOT_ALLOWED', 'bcc[0]');
  const client = await smtp();
  expectReply(await client.command('MAIL FROM:<promo@elipackage.com>'), 250, '2.1.0');
  expectReply(await client.command('RCPT TO:<noc@example.com>'), 550, '5.7.1', /role address/);
  expectReply(await client.command('RCPT TO:<john.doe@example.com>'), 250, '2.1.5');
  client.close();
});

test('a recipient domain with no MX, A or AAAA record: 422 RECIPIENT_DOMAIN_INVALID, 550 5.1.2 at RCPT; an implicit MX is enough', async () => {
  await refusedOverHttp({ to: 'someone@nomail.example' }, 422, 'RECIPIENT_DOMAIN_INVALID', 'to');
  await refusedOverHttp({ bcc: ['someone@does-not-exist.example'] }, 422, 'RECIPIENT_DOMAIN_INVALID', 'bcc[0]');
  const client = await smtp();
  expectReply(await client.command('MAIL FROM:<promo@elipackage.com>'), 250, '2.1.0');
  expectReply(await client.command('RCPT TO:<someone@nomail.example>'), 550, '5.1.2', /no MX, A or AAAA/);
  expectReply(await client.command('RCPT TO:<someone@implicit.example>'), 250, '2.1.5');
  client.close();
  // Answers are cached: the second message to the same domains asks the DNS server nothing.
  const asked = dns.queries.length;
  await refusedOverHttp({ to: 'other@nomail.example' }, 422, 'RECIPIENT_DOMAIN_INVALID', 'to');
  assert.equal((await post({ ...SEED_REQUEST, to: 'x@implicit.example' })).response.status, 200);
  assert.equal(dns.queries.length, asked);
});

test('a no-reply sender is accepted with a warning; with a replyTo it is not warned about', async () => {
  const request = { ...SEED_REQUEST, callbacks: ['https://hooks.example.com/mail'] };
  const warned = await post({ ...request, from: 'Shop <no-reply@elipackage.com>' });
  assert.equal(warned.response.status, 200);
  assert.deepEqual(warned.json.warnings?.map((warning) => warning.field), ['from']);
  assert.match(warned.json.warnings[0]!.message, /no-reply/);
  const answered = await post({ ...request, from: 'donotreply@elipackage.com', replyTo: 'care@elipackage.com' });
  assert.equal(answered.response.status, 200);
  assert.equal(answered.json.warnings, undefined);
});

test('over 10 MB with attachments: 413 MESSAGE_TOO_LARGE, 552 5.3.4 for a declared SIZE', async () => {
  const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(10 * 1024 * 1024)]).toString('base64');
  await refusedOverHttp({ attachments: [{ filename: 'big.pdf', content: big }] }, 413, 'MESSAGE_TOO_LARGE', '');
  const client = await smtp();
  expectReply(await client.command('MAIL FROM:<promo@elipackage.com> SIZE=11000000'), 552, '5.3.4');
  client.close();
});

test('a spoofed attachment (an executable named .pdf) and a type outside the list: 415 ATTACHMENT_NOT_ALLOWED, 554 5.6.1 after DATA', async () => {
  await refusedOverHttp({ attachments: [{ filename: 'invoice.pdf', content: fixture('setup.exe').toString('base64'), contentType: 'application/pdf' }] }, 415, 'ATTACHMENT_NOT_ALLOWED', 'attachments[0]');
  await refusedOverHttp({ attachments: [{ filename: 'invoice.pdf', content: fixture('invoice.pdf').toString('base64') }, { filename: 'run.sh', content: Buffer.from('#!/bin/sh\n').toString('base64') }] }, 415, 'ATTACHMENT_NOT_ALLOWED', 'attachments[1]');
  const accepted = await post({ ...SEED_REQUEST, attachments: [{ filename: 'letter.docx', content: fixture('letter.docx').toString('base64') }, { filename: 'pixel.png', content: fixture('pixel.png').toString('base64') }] });
  assert.equal(accepted.response.status, 200, JSON.stringify(accepted.json));

  const before = await stored();
  const client = await smtp();
  expectReply(await client.command('MAIL FROM:<promo@elipackage.com>'), 250, '2.1.0');
  expectReply(await client.command('RCPT TO:<john.doe@example.com>'), 250, '2.1.5');
  const raw = await mime({
    from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: 'Your invoice', text: 'Attached.',
    attachments: [{ filename: 'invoice.pdf', content: fixture('setup.exe'), contentType: 'application/pdf' }],
  });
  const { end } = await client.data(raw);
  expectReply(end, 554, '5.6.1', /invoice\.pdf is a program/);
  client.close();
  assert.equal(await stored(), before);
});

test('rate limits: concurrent sends past the day limit get 429 with Retry-After and X-RateLimit-*, SMTP gets 451 4.7.1', async () => {
  const before = await stored();
  const results = await Promise.all(Array.from({ length: PER_DAY + 4 }, (_, index) =>
    app.api('/emails', { method: 'POST', key: limitedKey, json: { ...SEED_REQUEST, from: 'promo@limited.example', to: `buyer${index}@example.com` } })));
  const statuses = results.map((response) => response.status).sort();
  assert.deepEqual(statuses, [...Array(PER_DAY).fill(200), ...Array(4).fill(429)]);
  const refused = results.find((response) => response.status === 429)!;
  const body = (await refused.json()) as { error: { code: string } };
  assert.equal(body.error.code, 'RATE_LIMITED');
  assert.ok(Number(refused.headers.get('retry-after')) > 0 && Number(refused.headers.get('retry-after')) <= 86_400);
  assert.equal(refused.headers.get('x-ratelimit-limit'), String(PER_DAY));
  assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
  assert.ok(Number(refused.headers.get('x-ratelimit-reset')) % 86_400 === 0, 'resets at midnight UTC');
  assert.equal(await stored(), before + PER_DAY);

  const client = await smtp(limitedKey);
  expectReply(await client.command('MAIL FROM:<promo@limited.example>'), 250, '2.1.0');
  expectReply(await client.command('RCPT TO:<john.doe@example.com>'), 250, '2.1.5');
  const { end } = await client.data(await mime({ from: 'promo@limited.example', to: 'john.doe@example.com', subject: 'x', text: 'y' }));
  expectReply(end, 451, '4.7.1', /per day/);
  client.close();
  assert.equal(await stored(), before + PER_DAY);
});

test('PATCH /account allows role addresses and turns the domain check off for this account', async () => {
  const patched = await app.api('/account', { method: 'PATCH', json: { allowRoleAddresses: true, checkRecipientDomains: false } });
  assert.equal(patched.status, 200);
  const account = (await patched.json()) as { data: { allowRoleAddresses: boolean; checkRecipientDomains: boolean; rateLimits: { perSecond: number; perDay: number } } };
  assert.deepEqual([account.data.allowRoleAddresses, account.data.checkRecipientDomains, account.data.rateLimits], [true, false, { perSecond: 0, perDay: 0 }]);
  assert.equal((await post({ ...SEED_REQUEST, to: 'postmaster@example.com' })).response.status, 200);
  assert.equal((await post({ ...SEED_REQUEST, to: 'someone@nomail.example' })).response.status, 200);
  const client = await smtp();
  expectReply(await client.command('MAIL FROM:<promo@elipackage.com>'), 250, '2.1.0');
  expectReply(await client.command('RCPT TO:<abuse@example.com>'), 250, '2.1.5');
  client.close();
});
