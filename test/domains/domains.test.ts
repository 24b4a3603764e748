import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { requireAccount } from '../../src/accounts/accounts.js';
import { dkimRecord, isVerifiedDomain } from '../../src/domains/domains.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { json, publish, recordOf, statuses, type ApiDomain } from './helpers.js';

/**
 * Domains through the API, checked against a real DNS server the test writes: the records to
 * publish, and what a verify finds when they are published, missing or wrong. SPF is evaluated
 * (mailauth) for both sending IPs.
 */
let app: TestApp;
let dns: TestDnsServer;
let otherKey: string;
let accountId: number;

before(async () => {
  dns = await startDnsServer();
  app = await startTestApp({
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_SENDING_IPS: '192.0.2.1, 2001:db8::1',
    MAILROOM_MX_HOSTNAME: 'mx.mailroom.test',
    MAILROOM_HELO_NAME: 'out.mailroom.test',
    MAILROOM_PUBLIC_URL: 'https://mail.mailroom.test',
  });
  accountId = (await requireAccount(app.mailroom.db, 'default')).id;
  otherKey = await otherAccountKey(app, 'other-co');
});
after(async () => {
  await app?.stop();
  await dns?.close();
});

async function create(body: Record<string, unknown>, key?: string): Promise<ApiDomain> {
  return (await json<{ data: ApiDomain }>(await app.api('/domains', { method: 'POST', json: body, ...(key ? { key } : {}) }), 201)).data;
}

async function verify(id: number): Promise<ApiDomain> {
  return (await json<{ data: ApiDomain }>(await app.api(`/domains/${id}/verify`, { method: 'POST' }))).data;
}

test('adding a domain answers the records to publish: DKIM, SPF and MX at the return-path domain, DMARC advice, tracking CNAME', async () => {
  const domain = await create({ domain: 'Example.COM' });
  assert.equal(domain.domain, 'example.com');
  assert.equal(domain.status, 'pending');
  assert.equal(domain.verifiedAt, null);
  assert.equal(domain.lastCheckedAt, null);
  const selector = `mr${new Date().toISOString().slice(0, 7).replace('-', '')}`;
  assert.deepEqual(domain.records.map(({ purpose, type, name, required, status }) => [purpose, type, name, required, status]), [
    ['dkim', 'TXT', `${selector}._domainkey.example.com`, true, 'pending'],
    ['spf', 'TXT', 'bounces.example.com', true, 'pending'],
    ['return-path', 'MX', 'bounces.example.com', true, 'pending'],
    ['dmarc', 'TXT', '_dmarc.example.com', false, 'pending'],
    ['tracking', 'CNAME', 'track.example.com', false, 'pending'],
  ]);
  assert.match(domain.records[0]!.value, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{300,}={0,2}$/);
  assert.equal(domain.records[1]!.value, 'v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 ~all');
  assert.equal(domain.records[2]!.value, 'mx.mailroom.test');
  assert.equal(domain.records[2]!.priority, 10);
  assert.equal(domain.records[3]!.value, 'v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com');
  assert.equal(domain.records[4]!.value, 'mail.mailroom.test');

  const again = await json<{ error: { code: string } }>(await app.api('/domains', { method: 'POST', json: { domain: 'example.com' } }), 409);
  assert.equal(again.error.code, 'CONFLICT');
  await json(await app.api('/domains', { method: 'POST', json: { domain: 'not a domain' } }), 400);
  await json(await app.api('/domains', { method: 'POST', json: { domain: 'example.org', selector: 'bad selector' } }), 400);
  await json(await app.api('/domains', { method: 'POST', json: { domain: 'example.org', algorithm: 'dsa' } }), 400);

  const listed = await json<{ data: ApiDomain[] }>(await app.api('/domains'));
  assert.ok(listed.data.some((item) => item.id === domain.id));
  const one = await json<{ data: ApiDomain }>(await app.api(`/domains/${domain.id}`));
  assert.deepEqual(one.data, domain);
});

test('Ed25519: an RSA key is kept beside it, so two DKIM records are required', async () => {
  const domain = await create({ domain: 'ed.example', selector: 'Sel1', algorithm: 'ed25519' });
  const dkim = domain.records.filter((record) => record.purpose === 'dkim');
  assert.deepEqual(dkim.map((record) => [record.name, record.required]), [['sel1._domainkey.ed.example', true], ['sel1e._domainkey.ed.example', true]]);
  assert.match(dkim[0]!.value, /^v=DKIM1; k=rsa; p=/);
  assert.match(dkim[1]!.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);

  publish(dns, domain.records.filter((record) => record.name !== 'sel1e._domainkey.ed.example'));
  const partly = await verify(domain.id);
  assert.equal(partly.status, 'pending');
  assert.equal(recordOf(partly, 'dkim', 'sel1e._domainkey.ed.example').status, 'missing');
  publish(dns, [recordOf(domain, 'dkim', 'sel1e._domainkey.ed.example')]);
  assert.equal((await verify(domain.id)).status, 'verified');
});

test('published records verify: DKIM by its key material, SPF evaluated through an include for every sending IP', async () => {
  const domain = await create({ domain: 'good.example', selector: 'sel' });
  assert.equal(await isVerifiedDomain(app.mailroom.db, accountId, 'good.example'), false);
  const dkim = recordOf(domain, 'dkim');
  const key = dkim.value.slice(dkim.value.indexOf('p=') + 2);
  // Another provider's way of writing the same key: tags reordered, split into strings, spaces in p=.
  dns.zone['sel._domainkey.good.example'] = { TXT: [['k=rsa;v=DKIM1;', ` p=${key.slice(0, 200)}`, ` ${key.slice(200)}`]] };
  dns.zone['bounces.good.example'] = {
    TXT: ['google-site-verification=abc', 'v=spf1 include:_spf.provider.example ~all'],
    MX: [{ exchange: 'mx.mailroom.test', priority: 10 }],
  };
  dns.zone['_spf.provider.example'] = { TXT: ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all'] };
  dns.zone['_dmarc.good.example'] = { TXT: ['v=DMARC1; p=quarantine; pct=100'] };
  dns.zone['track.good.example'] = { CNAME: 'mail.mailroom.test' };

  const verified = await verify(domain.id);
  assert.equal(verified.status, 'verified');
  assert.equal(verified.verifiedBy, 'dns');
  assert.deepEqual(Object.values(statuses(verified)), ['verified', 'verified', 'verified', 'verified', 'verified'], JSON.stringify(verified.records));
  assert.ok(verified.records.every((record) => record.reason === undefined));
  assert.ok(verified.verifiedAt && verified.lastCheckedAt);
  assert.equal(await isVerifiedDomain(app.mailroom.db, accountId, 'good.example'), true);

  // Reads show the stored check, without asking DNS.
  const asked = dns.queries.length;
  const read = await json<{ data: ApiDomain }>(await app.api(`/domains/${domain.id}`));
  assert.deepEqual(read.data, verified);
  assert.equal(dns.queries.length, asked);
});

test('missing records are reported with reasons; the domain stays pending', async () => {
  const domain = await create({ domain: 'missing.example', selector: 'sel' });
  dns.zone['bounces.missing.example'] = { TXT: ['some other text'] };
  const checked = await verify(domain.id);
  assert.equal(checked.status, 'pending');
  const reasons = Object.fromEntries(checked.records.map((record) => [record.purpose, [record.status, record.reason]]));
  assert.deepEqual(reasons, {
    dkim: ['missing', 'no TXT record at sel._domainkey.missing.example'],
    spf: ['missing', 'no SPF record (TXT v=spf1) at bounces.missing.example'],
    'return-path': ['missing', 'no MX record at bounces.missing.example'],
    dmarc: ['missing', 'no DMARC record at _dmarc.missing.example: receivers apply no DMARC policy and send no reports'],
    tracking: ['missing', 'no CNAME record at track.missing.example'],
  });
  assert.ok(checked.lastCheckedAt);
  assert.equal(checked.verifiedAt, null);
  assert.equal(await isVerifiedDomain(app.mailroom.db, accountId, 'missing.example'), false);
});

test('wrong records are reported with reasons: another DKIM key, SPF softfail for the sending IPs, MX to another host', async () => {
  const domain = await create({ domain: 'wrong.example', selector: 'sel' });
  const other = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  dns.zone['sel._domainkey.wrong.example'] = { TXT: [dkimRecord(other.publicKey)] };
  dns.zone['bounces.wrong.example'] = { TXT: ['v=spf1 ip4:198.51.100.7 ~all'], MX: [{ exchange: 'other.example', priority: 10 }] };
  dns.zone['_dmarc.wrong.example'] = { TXT: ['v=DMARC1; p=maybe'] };
  dns.zone['track.wrong.example'] = { CNAME: 'elsewhere.example' };
  const checked = await verify(domain.id);
  assert.equal(checked.status, 'pending');
  const reasons = Object.fromEntries(checked.records.map((record) => [record.purpose, [record.status, record.reason]]));
  assert.deepEqual(reasons, {
    dkim: ['wrong', "the record's p= is a different key"],
    spf: ['wrong', 'SPF evaluates to softfail for 192.0.2.1; SPF evaluates to softfail for 2001:db8::1'],
    'return-path': ['wrong', 'MX points to other.example, not mx.mailroom.test'],
    dmarc: ['wrong', 'the DMARC record at _dmarc.wrong.example has no valid p= (none, quarantine or reject)'],
    tracking: ['wrong', 'CNAME points to elsewhere.example, not mail.mailroom.test'],
  });

  // Two SPF records are an error at receivers, whatever they say.
  dns.zone['bounces.wrong.example']!.TXT = ['v=spf1 ip4:192.0.2.1 ~all', 'v=spf1 ip6:2001:db8::1 ~all'];
  assert.match(recordOf(await verify(domain.id), 'spf').reason ?? '', /^2 SPF records at bounces\.wrong\.example/);
});

test('another account can neither see nor change the domain', async () => {
  const domain = await create({ domain: 'mine.example' });
  for (const [method, path] of [['GET', ''], ['POST', '/verify'], ['POST', '/rotate'], ['DELETE', '']] as const) {
    const answer = await json<{ error: { code: string; message: string } }>(await app.api(`/domains/${domain.id}${path}`, { method, key: otherKey }), 404);
    assert.equal(answer.error.code, 'NOT_FOUND');
    assert.doesNotMatch(answer.error.message, /mine\.example/);
  }
  const list = await json<{ data: ApiDomain[] }>(await app.api('/domains', { key: otherKey }));
  assert.deepEqual(list.data, []);
  // The name is not taken from other accounts: each proves it with its own key.
  const theirs = await create({ domain: 'mine.example' }, otherKey);
  assert.notEqual(theirs.id, domain.id);
  assert.notEqual(theirs.records[0]!.value, domain.records[0]!.value);
});

test('deleting a domain', async () => {
  const domain = await create({ domain: 'gone.example' });
  const deleted = await json<{ data: { id: number; domain: string; deleted: boolean } }>(await app.api(`/domains/${domain.id}`, { method: 'DELETE' }));
  assert.deepEqual(deleted.data, { id: domain.id, domain: 'gone.example', deleted: true });
  await json(await app.api(`/domains/${domain.id}`), 404);
  await json(await app.api(`/domains/${domain.id}`, { method: 'DELETE' }), 404);
});
