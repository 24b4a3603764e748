import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { requireAccount } from '../../src/accounts/accounts.js';
import { addDomain, dkimRecord, type Domain } from '../../src/domains/domains.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Every message whose From domain has a key in the account leaves DKIM-signed (relaxed/relaxed,
 * rsa-sha256); an independent verifier (mailauth's) checks it with the public key given offline.
 */
let app: TestApp;
let domain: Domain;

before(async () => {
  app = await startTestApp();
  const account = await requireAccount(app.mailroom.db, 'default');
  domain = await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, 'elipackage.com', { verified: true, selector: 'mr2026' });
});
after(() => app.stop());

async function rawOf(id: string): Promise<string> {
  return eventually(async () => {
    const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; messageId: string }[] };
    const entry = list.data.find((item) => item.messageId === id);
    if (!entry) return undefined;
    return ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
  }, 15_000, `message ${id} in the sandbox`);
}

async function send(body: Record<string, unknown>): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: body });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === `mr2026._domainkey.elipackage.com`) return [[dkimRecord(domain.dkim_public_key)]];
  const error = new Error(`no ${type} record for ${name}`) as Error & { code: string };
  error.code = 'ENOTFOUND';
  throw error;
};

test('a message from a domain with a key is signed and verifies; the signature covers the headers receivers expect', async () => {
  const id = await send({
    ...SEED_REQUEST,
    from: 'EliPackage Promo <promo@elipackage.com>',
    subject: 'Grüße – an offer 🎁',
    cc: ['carol@example.com'],
    replyTo: 'support@elipackage.com',
    html: '<p>Hello <b>there</b></p>',
    attachments: [{ filename: 'offer.pdf', content: Buffer.from('%PDF-1.4 test').toString('base64'), contentType: 'application/pdf' }],
  });
  const raw = await rawOf(id);
  assert.match(raw, /^DKIM-Signature: /);
  const result = await dkimVerify(Buffer.from(raw), { resolver });
  assert.equal(result.results.length, 1);
  const [signature] = result.results;
  assert.equal(signature!.status.result, 'pass', signature!.info);
  assert.equal(signature!.signingDomain, 'elipackage.com');
  assert.equal(signature!.selector, 'mr2026');
  const header = raw.split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
  const dkimHeader = /^DKIM-Signature: (.*)$/m.exec(header)?.[1] ?? '';
  const tag = (name: string) => new RegExp(`(?:^|;)\\s*${name}=([^;]+)`).exec(dkimHeader)?.[1]?.replace(/\s+/g, '');
  assert.equal(tag('a'), 'rsa-sha256');
  assert.equal(tag('c'), 'relaxed/relaxed');
  assert.equal(tag('d'), 'elipackage.com');
  const signed = (tag('h') ?? '').toLowerCase().split(':');
  for (const header of ['from', 'to', 'cc', 'subject', 'date', 'message-id', 'reply-to', 'mime-version', 'content-type']) {
    assert.ok(signed.includes(header), `${header} is signed (h=${signed.join(':')})`);
  }

  // The same bytes with the subject changed no longer verify.
  const tampered = raw.replace(/^Subject: .*$/m, 'Subject: =?UTF-8?Q?changed?=');
  const broken = await dkimVerify(Buffer.from(tampered), { resolver });
  assert.equal(broken.results[0]!.status.result, 'fail');
  assert.equal(await dkimDetailOf(id), 'elipackage.com mr2026 rsa-sha256', 'the timeline says which key signed');
});

/** What the message's delivery event says of its signatures (the console's DKIM details). */
async function dkimDetailOf(id: string): Promise<unknown> {
  return eventually(async () => {
    const events = ((await (await app.api(`/emails/${id}/events`)).json()) as { data: { type: string; details: { dkim?: unknown } }[] }).data;
    return events.find((event) => event.type === 'DELIVERED')?.details.dkim;
  }, 15_000, `the DELIVERED event of ${id}`);
}

test('a sender domain without a key in the account (sandbox accepts any sender) is sent unsigned', async () => {
  const id = await send({ ...SEED_REQUEST, from: 'someone@other.example' });
  const raw = await rawOf(id);
  assert.doesNotMatch(raw, /^DKIM-Signature:/im);
  assert.equal(await dkimDetailOf(id), 'none');
});
