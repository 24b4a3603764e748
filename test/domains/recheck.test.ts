import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requireAccount } from '../../src/accounts/accounts.js';
import { DomainChecker } from '../../src/domains/checks.js';
import { addDomain, isVerifiedDomain, listDomains } from '../../src/domains/domains.js';
import { DomainRechecker } from '../../src/domains/recheck.js';
import { expectedRecords } from '../../src/domains/records.js';
import type { DomainSettings } from '../../src/domains/settings.js';
import { ManualClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/log.js';
import { SUBSCRIBABLE_EVENTS } from '../../src/webhooks/webhooks.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { json, publish, recordOf, type ApiDomain } from './helpers.js';

/**
 * The daily re-check: a verified domain whose record is removed turns failed with a
 * DOMAIN_VERIFICATION_FAILED event (and keeps sending for the grace), and verified again with a
 * DOMAIN_VERIFIED event once fixed; a DNS time-out is an error that fails nothing. The job runs on
 * a manual clock, with a short DNS time-out.
 */
let app: TestApp;
let dns: TestDnsServer;
let accountId: number;
const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'));
const HOUR = 3_600_000;

const settings: DomainSettings = {
  dnsServers: [],
  sendingIps: ['192.0.2.1'],
  heloName: 'out.mailroom.test',
  mxHostname: 'mx.mailroom.test',
  bounceDomain: '',
  publicUrl: 'https://mail.mailroom.test',
  dkimOverlapDays: 7,
  recheckHours: 24,
  dnsTimeoutMs: 300,
  dnsTries: 1,
};
let rechecker: DomainRechecker;

before(async () => {
  dns = await startDnsServer();
  settings.dnsServers = [dns.address];
  app = await startTestApp({
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_SENDING_IPS: settings.sendingIps.join(','),
    MAILROOM_MX_HOSTNAME: settings.mxHostname,
    MAILROOM_HELO_NAME: settings.heloName,
    MAILROOM_PUBLIC_URL: settings.publicUrl,
  }, { clock });
  accountId = (await requireAccount(app.mailroom.db, 'default')).id;
  rechecker = new DomainRechecker(app.mailroom.db, settings, clock, createLogger('silent'), { batchSize: 10 });
});
after(async () => {
  await rechecker?.stop();
  await app?.stop();
  await dns?.close();
});

async function domainOf(id: number): Promise<ApiDomain> {
  return (await json<{ data: ApiDomain }>(await app.api(`/domains/${id}`))).data;
}

async function eventsOf(type: string): Promise<{ account_id: number; message_id: string | null; details: Record<string, unknown> }[]> {
  return app.mailroom.db.query('SELECT account_id, message_id, details FROM message_events WHERE type = $1 ORDER BY id', [type]);
}

test('a removed record fails a verified domain (with an event, sending on for the grace); fixed, it is verified again', async () => {
  assert.ok(SUBSCRIBABLE_EVENTS.includes('DOMAIN_VERIFICATION_FAILED') && SUBSCRIBABLE_EVENTS.includes('DOMAIN_VERIFIED'), 'webhooks can subscribe to both');
  const created = (await json<{ data: ApiDomain }>(await app.api('/domains', { method: 'POST', json: { domain: 'watched.example', selector: 'sel' } }), 201)).data;
  publish(dns, created.records);
  const verified = (await json<{ data: ApiDomain }>(await app.api(`/domains/${created.id}/verify`, { method: 'POST' }))).data;
  assert.equal(verified.status, 'verified');
  const firstVerified = await eventsOf('DOMAIN_VERIFIED');
  assert.deepEqual(firstVerified.map((event) => [event.message_id, event.details]), [[null, { domainId: created.id, domain: 'watched.example', previousStatus: 'pending' }]]);

  // An admin-verified domain (no DNS) is never failed by the job.
  await addDomain(app.mailroom.db, app.mailroom.secrets, accountId, 'admin.example', { verified: true, now: clock.now() });

  assert.equal(await rechecker.runOnce(), 0, 'nothing is due right after a check');
  clock.advance(25 * HOUR);
  const dkimName = 'sel._domainkey.watched.example';
  const published = dns.zone[dkimName]!;
  delete dns.zone[dkimName];
  assert.equal(await rechecker.runOnce(), 1);
  const failed = await domainOf(created.id);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.failedAt, clock.now().toISOString());
  assert.equal(recordOf(failed, 'dkim').status, 'missing');
  const [event, ...more] = await eventsOf('DOMAIN_VERIFICATION_FAILED');
  assert.equal(more.length, 0);
  assert.equal(event!.account_id, accountId);
  assert.equal(event!.message_id, null);
  assert.deepEqual(event!.details, {
    domainId: created.id,
    domain: 'watched.example',
    previousStatus: 'verified',
    records: [{ type: 'TXT', name: dkimName, status: 'missing', reason: `no TXT record at ${dkimName}` }],
  });
  // The grace: a failed domain still sends for 72 hours.
  assert.equal(await isVerifiedDomain(app.mailroom.db, accountId, 'watched.example', clock.now()), true);
  assert.equal(await isVerifiedDomain(app.mailroom.db, accountId, 'watched.example', new Date(clock.now().getTime() + 71 * HOUR)), true);
  assert.equal(await isVerifiedDomain(app.mailroom.db, accountId, 'watched.example', new Date(clock.now().getTime() + 73 * HOUR)), false);

  // Still broken a day later: still failed, no second event, and the grace still counts from the first failure.
  clock.advance(25 * HOUR);
  assert.equal(await rechecker.runOnce(), 1);
  assert.equal((await domainOf(created.id)).failedAt, failed.failedAt);
  assert.equal((await eventsOf('DOMAIN_VERIFICATION_FAILED')).length, 1);

  clock.advance(25 * HOUR);
  dns.zone[dkimName] = published;
  assert.equal(await rechecker.runOnce(), 1);
  const fixed = await domainOf(created.id);
  assert.equal(fixed.status, 'verified');
  assert.equal(fixed.failedAt, null);
  const verifiedEvents = await eventsOf('DOMAIN_VERIFIED');
  assert.deepEqual(verifiedEvents.at(-1)!.details, { domainId: created.id, domain: 'watched.example', previousStatus: 'failed' });
  // Each run checked one domain: the admin-verified one is left alone, and stays verified.
  assert.equal((await listDomains(app.mailroom.db, accountId)).find((domain) => domain.domain === 'admin.example')?.status, 'verified');

  // A DNS time-out says nothing about the records: an error, and the domain stays verified.
  clock.advance(25 * HOUR);
  dns.zone[dkimName] = { silent: true };
  assert.equal(await rechecker.runOnce(), 1);
  const unknown = await domainOf(created.id);
  assert.equal(unknown.status, 'verified');
  assert.equal(recordOf(unknown, 'dkim').status, 'error');
  assert.equal(recordOf(unknown, 'dkim').reason, `DNS lookup timed out (TXT ${dkimName})`);
  assert.equal((await eventsOf('DOMAIN_VERIFICATION_FAILED')).length, 1);
  dns.zone[dkimName] = published;
});

test('checks without sending IPs look for a:<HELO name>; with MAILROOM_BOUNCE_DOMAIN, SPF goes on the domain and no MX is asked for', async () => {
  const textual: DomainSettings = { ...settings, sendingIps: [], bounceDomain: 'bounces.mailroom.test' };
  const domain = await addDomain(app.mailroom.db, app.mailroom.secrets, accountId, 'plain.example', { selector: 'sel' });
  const records = expectedRecords(domain, [], textual);
  assert.deepEqual(records.map((record) => `${record.type} ${record.name}`), ['TXT sel._domainkey.plain.example', 'TXT plain.example', 'TXT _dmarc.plain.example', 'CNAME track.plain.example']);
  const spf = records[1]!;
  assert.equal(spf.value, 'v=spf1 a:out.mailroom.test ~all');
  const checker = new DomainChecker(textual);
  dns.zone['plain.example'] = { TXT: ['v=spf1 mx a:out.mailroom.test -all'] };
  assert.deepEqual(await checker.check(spf), { status: 'verified' });
  dns.zone['plain.example'] = { TXT: ['v=spf1 mx -all'] };
  assert.deepEqual(await checker.check(spf), { status: 'wrong', reason: 'the SPF record at plain.example does not contain a:out.mailroom.test: "v=spf1 mx -all"' });
  dns.zone['plain.example'] = { rcode: 'SERVFAIL' };
  assert.deepEqual(await checker.check(spf), { status: 'error', reason: 'the DNS server failed to answer (SERVFAIL) for TXT plain.example' });

  // Evaluated SPF whose include times out: an error, not a verdict on the record.
  const evaluated = new DomainChecker(settings);
  const [, spfAtBounces] = expectedRecords(domain, [], settings);
  dns.zone['bounces.plain.example'] = { TXT: ['v=spf1 include:slow.example ~all'] };
  dns.zone['slow.example'] = { silent: true };
  const slow = await evaluated.check(spfAtBounces!);
  assert.equal(slow.status, 'error');
  assert.match(slow.reason ?? '', /^SPF evaluates to temperror for 192\.0\.2\.1/);
});
