import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { after, before, test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { requireAccount } from '../../src/accounts/accounts.js';
import { SIGNED_HEADERS, SigningKeys } from '../../src/delivery/dkim.js';
import { dkimSignatures } from '../../src/delivery/dkimSign.js';
import { dropRetiredKeys, keysOfDomains } from '../../src/domains/domains.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { json, publish, recordOf, type ApiDomain } from './helpers.js';

/**
 * DKIM key rotation end to end: the new key's record is listed as pending while the current key
 * signs; a verify that finds it published makes it the signing key (checked with mailauth's
 * verifier against the test DNS), and the old key stays listed as retiring for the overlap.
 */
let app: TestApp;
let dns: TestDnsServer;
let accountId: number;
let resolver: Resolver;

before(async () => {
  dns = await startDnsServer({ 'example.org': { MX: [{ exchange: 'mx.example.org', priority: 10 }], A: ['192.0.2.80'] } });
  app = await startTestApp({ MAILROOM_DNS_SERVERS: dns.address, MAILROOM_MX_HOSTNAME: 'mx.mailroom.test', MAILROOM_HELO_NAME: 'out.mailroom.test' });
  accountId = (await requireAccount(app.mailroom.db, 'default')).id;
  resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([dns.address]);
});
after(async () => {
  await app?.stop();
  await dns?.close();
});

/** mailauth looks DKIM keys up in the test's DNS, as a receiver would in the world's. */
const lookup = (name: string, type: string) => resolver.resolve(name, type) as Promise<string[][]>;

async function call(path: string, body?: Record<string, unknown>, status = 200): Promise<ApiDomain> {
  return (await json<{ data: ApiDomain }>(await app.api(path, { method: 'POST', ...(body ? { json: body } : {}) }), status)).data;
}

/** Signs a message as the worker would now (no cache) and verifies it: the selectors used, with their results. */
async function signedWith(from: string): Promise<string[]> {
  const keys = await new SigningKeys(app.mailroom.db, app.mailroom.secrets, 0).forSender(accountId, from);
  const raw = Buffer.from(`From: ${from}\r\nTo: b@example.org\r\nSubject: rotation\r\n\r\nbody\r\n`, 'latin1');
  const specs = keys.map((key) => ({ domain: key.domain, selector: key.selector, algorithm: key.algorithm, key: createPrivateKey(key.pem) }));
  const signed = Buffer.concat([Buffer.from(await dkimSignatures(raw, SIGNED_HEADERS, specs), 'latin1'), raw]);
  const result = await dkimVerify(signed, { resolver: lookup });
  return result.results.map((entry) => `${entry.selector}:${entry.status.result}`);
}

function dkimRecords(domain: ApiDomain): string[] {
  return domain.records.filter((record) => record.purpose === 'dkim').map((record) => `${record.name.split('.')[0]} ${record.status} ${record.required ? 'required' : 'optional'}`);
}

test('rotation: pending until published, then the new key signs and the old one retires for the overlap', async () => {
  const created = await call('/domains', { domain: 'rotate.example', selector: 'one' }, 201);
  publish(dns, created.records);
  assert.equal((await call(`/domains/${created.id}/verify`)).status, 'verified');
  assert.deepEqual(await signedWith('a@rotate.example'), ['one:pass']);

  // Without a selector: mr<year><month>. A second rotation before publishing replaces the first's key.
  const first = await call(`/domains/${created.id}/rotate`);
  const monthly = `mr${new Date().toISOString().slice(0, 7).replace('-', '')}`;
  assert.deepEqual(dkimRecords(first), ['one verified required', `${monthly} pending optional`]);
  assert.match(recordOf(first, 'dkim', `${monthly}._domainkey.rotate.example`).reason ?? '', /once a check finds this record, mail is signed with selector mr\d{6} instead of one/);
  const conflict = await json<{ error: { code: string } }>(await app.api(`/domains/${created.id}/rotate`, { method: 'POST', json: { selector: 'one' } }), 409);
  assert.equal(conflict.error.code, 'CONFLICT');
  const rotated = await call(`/domains/${created.id}/rotate`, { selector: 'two' });
  assert.deepEqual(dkimRecords(rotated), ['one verified required', 'two pending optional']);

  // Not published yet: the domain stays verified, the current key keeps signing.
  const unpublished = await call(`/domains/${created.id}/verify`);
  assert.equal(unpublished.status, 'verified');
  const next = recordOf(unpublished, 'dkim', 'two._domainkey.rotate.example');
  assert.equal(next.status, 'missing');
  assert.match(next.reason ?? '', /^no TXT record at two\._domainkey\.rotate\.example; the next key/);
  assert.deepEqual(await signedWith('a@rotate.example'), ['one:pass']);

  // Published: the verify switches signing to it; the old key is listed as retiring for 7 days.
  publish(dns, [next]);
  const before = Date.now();
  const switched = await call(`/domains/${created.id}/verify`);
  assert.equal(switched.status, 'verified');
  assert.deepEqual(dkimRecords(switched), ['two verified required', 'one retiring optional']);
  const retiring = recordOf(switched, 'dkim', 'one._domainkey.rotate.example');
  const until = new Date(/until (\S+)/.exec(retiring.reason ?? '')?.[1] ?? '').getTime();
  assert.ok(Math.abs(until - (before + 7 * 86_400_000)) < 60_000, retiring.reason);
  assert.deepEqual(await signedWith('a@rotate.example'), ['two:pass']);
  const read = await json<{ data: ApiDomain }>(await app.api(`/domains/${created.id}`));
  assert.deepEqual(read.data.records, switched.records);

  // A message sent through the API now leaves signed with the new selector.
  const sent = await json<{ data: { id: string } }>(await app.api('/emails', {
    method: 'POST', json: { from: 'promo@rotate.example', to: 'john@example.org', subject: 'after the rotation', text: 'signed with the new key' },
  }));
  const raw = await eventually(async () => {
    const list = await json<{ data: { id: number; messageId: string }[] }>(await app.api('/sandbox/messages?limit=100'));
    const entry = list.data.find((item) => item.messageId === sent.data.id);
    return entry ? (await json<{ data: { raw: string } }>(await app.api(`/sandbox/messages/${entry.id}`))).data.raw : undefined;
  }, 15_000, 'the message in the sandbox');
  const verified = await dkimVerify(Buffer.from(raw), { resolver: lookup });
  assert.deepEqual(verified.results.map((entry) => `${entry.signingDomain} ${entry.selector}:${entry.status.result}`), ['rotate.example two:pass']);

  // After the overlap the old key is no longer listed, and the job forgets it.
  const later = new Date(Date.now() + 8 * 86_400_000);
  assert.deepEqual((await keysOfDomains(app.mailroom.db, [created.id], later)).get(created.id) ?? [], []);
  assert.ok((await dropRetiredKeys(app.mailroom.db, later)) >= 1);
  const afterOverlap = await json<{ data: ApiDomain }>(await app.api(`/domains/${created.id}`));
  assert.deepEqual(dkimRecords(afterOverlap.data), ['two verified required']);
});

test('an Ed25519 domain rotates both keys, and switches once both new records are published', async () => {
  const created = await call('/domains', { domain: 'edrot.example', selector: 'a', algorithm: 'ed25519' }, 201);
  publish(dns, created.records);
  assert.equal((await call(`/domains/${created.id}/verify`)).status, 'verified');
  assert.deepEqual(await signedWith('x@edrot.example'), ['a:pass', 'ae:pass']);

  const rotated = await call(`/domains/${created.id}/rotate`, { selector: 'b' });
  assert.deepEqual(dkimRecords(rotated), ['a verified required', 'ae verified required', 'b pending optional', 'be pending optional']);
  publish(dns, [recordOf(rotated, 'dkim', 'b._domainkey.edrot.example')]);
  const half = await call(`/domains/${created.id}/verify`);
  assert.deepEqual(dkimRecords(half), ['a verified required', 'ae verified required', 'b verified optional', 'be missing optional']);
  assert.deepEqual(await signedWith('x@edrot.example'), ['a:pass', 'ae:pass']);

  publish(dns, [recordOf(rotated, 'dkim', 'be._domainkey.edrot.example')]);
  const switched = await call(`/domains/${created.id}/verify`);
  assert.deepEqual(dkimRecords(switched), ['b verified required', 'be verified required', 'a retiring optional', 'ae retiring optional']);
  assert.deepEqual(await signedWith('x@edrot.example'), ['b:pass', 'be:pass']);
});
