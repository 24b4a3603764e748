import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { KeyRing } from '../../src/crypto/keyring.js';
import { Verp } from '../../src/bounces/verp.js';
import { ManualClock } from '../../src/shared/clock.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { freePort, prepareStore } from '../helpers/process.js';
import { startScriptedSmtp } from '../helpers/scriptedSmtp.js';

/**
 * The mx transport with real peers on loopback: a DNS server started here answers MX and A
 * records, and SMTP servers on different loopback addresses (127.0.0.x, one port, as
 * MAILROOM_MX_DELIVERY_PORT is one port) accept, refuse per recipient, drop the connection, stall,
 * or offer STARTTLS that works or cannot. The clock is manual, so retry times are exact.
 */
const clock = new ManualClock(new Date());
const METRICS_TOKEN = 'mx-test-metrics-token-0123456789';
const KEY = randomBytes(32);
let port: number;
let dns: TestDnsServer;
let store: TestStore;
let app: TestApp;
type Server = Awaited<ReturnType<typeof startScriptedSmtp>>;
const servers: Record<string, Server> = {};
let busyAccepts = false;

function mx(exchange: string, priority = 10) {
  return { MX: [{ exchange, priority }] };
}

before(async () => {
  port = await freePort();
  // 127.0.0.2 has no server: connections to it are refused.
  servers.main = await startScriptedSmtp({
    host: '127.0.0.1', port, tls: 'off',
    rcpt: (address) => {
      if (address.startsWith('unknown')) return [550, '5.1.1 <unknown>: Recipient address rejected: User unknown in virtual mailbox table'];
      if (address.startsWith('busy') && !busyAccepts) return [451, '4.2.0 Mailbox busy, try again in 2 minutes'];
      return null;
    },
  });
  servers.backup = await startScriptedSmtp({ host: '127.0.0.3', port, tls: 'off' });
  servers.dropper = await startScriptedSmtp({ host: '127.0.0.4', port, tls: 'off', data: () => 'drop' });
  servers.staller = await startScriptedSmtp({ host: '127.0.0.5', port, tls: 'off', data: () => 'stall' });
  servers.brokenTls = await startScriptedSmtp({ host: '127.0.0.6', port, tls: 'broken' });
  servers.goodTls = await startScriptedSmtp({ host: '127.0.0.7', port, tls: 'ok' });
  servers.slow = await startScriptedSmtp({ host: '127.0.0.8', port, tls: 'off', delayMs: 150 });
  servers.deferring = await startScriptedSmtp({ host: '127.0.0.9', port, tls: 'off', rcpt: () => [451, '4.7.1 Try again later'] });
  dns = await startDnsServer({
    'plain.test': mx('mx.plain.test'),
    'mx.plain.test': { A: ['127.0.0.1'] },
    'fallback.test': { MX: [{ exchange: 'mx1.fallback.test', priority: 10 }, { exchange: 'mx2.fallback.test', priority: 20 }] },
    'mx1.fallback.test': { A: ['127.0.0.2'] },
    'mx2.fallback.test': { A: ['127.0.0.3'] },
    'implicit.test': { A: ['127.0.0.3'] },
    'nullmx.test': { MX: [{ exchange: '', priority: 0 }] },
    'flaky.test': { rcode: 'SERVFAIL' },
    'dropper.test': mx('mx.dropper.test'),
    'mx.dropper.test': { A: ['127.0.0.4'] },
    'staller.test': mx('mx.staller.test'),
    'mx.staller.test': { A: ['127.0.0.5'] },
    'brokentls.test': mx('mx.brokentls.test'),
    'mx.brokentls.test': { A: ['127.0.0.6'] },
    'goodtls.test': mx('mx.goodtls.test'),
    'mx.goodtls.test': { A: ['127.0.0.7'] },
    'slow-a.test': mx('mx.slowprovider.test'),
    'slow-b.test': mx('mx.slowprovider.test'),
    'mx.slowprovider.test': { A: ['127.0.0.8'] },
    'busy-a.test': mx('mx.busyprovider.test'),
    'busy-b.test': mx('mx.busyprovider.test'),
    'mx.busyprovider.test': { A: ['127.0.0.9'] },
  });
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com'], KEY);
  app = await startTestApp({
    MAILROOM_TRANSPORT: 'mx',
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_MX_DELIVERY_PORT: String(port),
    MAILROOM_SMTP_TIMEOUT_SECONDS: '1',
    MAILROOM_DESTINATION_CONCURRENCY: '2',
    MAILROOM_ENCRYPTION_KEY: KEY.toString('base64'),
    MAILROOM_METRICS_TOKEN: METRICS_TOKEN,
  }, { clock, store });
});
after(async () => {
  await app?.stop();
  await store?.dispose();
  await dns?.close();
  await Promise.all(Object.values(servers).map((server) => server.close()));
});

interface EventBody {
  type: string;
  details: Record<string, unknown>;
}

async function send(to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to, ...extra } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

async function events(id: string): Promise<EventBody[]> {
  return ((await (await app.api(`/emails/${id}/events`)).json()) as { data: EventBody[] }).data;
}

async function waitFor(id: string, type: string): Promise<EventBody> {
  return eventually(async () => {
    app.mailroom.worker!.wakeUp();
    return (await events(id)).reverse().find((event) => event.type === type);
  }, 20_000, `${type} for ${id}`);
}

function transactionsWith(server: Server, id: string) {
  return server.transactions.filter((transaction) => transaction.raw.toString('latin1').includes(id));
}

test('delivered to the MX host; a refused preferred MX falls back to the next; a domain with only an A record is its own MX', async () => {
  const plain = await send('ann@plain.test');
  assert.equal((await waitFor(plain, 'DELIVERED')).details.host, 'mx.plain.test');
  assert.equal(transactionsWith(servers.main!, plain).length, 1);

  const fallback = await send('bob@fallback.test');
  assert.equal((await waitFor(fallback, 'DELIVERED')).details.host, 'mx2.fallback.test');
  assert.equal(transactionsWith(servers.backup!, fallback).length, 1);

  const implicit = await send('cid@implicit.test');
  assert.equal((await waitFor(implicit, 'DELIVERED')).details.host, 'implicit.test');
  assert.ok(dns.queries.includes('A implicit.test'));
});

test('null MX and a domain that does not exist bounce HARD; a DNS failure defers and is retried', async () => {
  const nullMx = await waitFor(await send('x@nullmx.test'), 'BOUNCED');
  assert.equal(nullMx.details.bounceClass, 'HARD');
  assert.equal(nullMx.details.reason, 'notaccept');
  assert.equal(nullMx.details.enhancedCode, '5.1.10');

  const missing = await waitFor(await send('x@nowhere.test'), 'BOUNCED');
  assert.equal(missing.details.bounceClass, 'HARD');
  assert.equal(missing.details.reason, 'hostunknown');

  const flakyId = await send('x@flaky.test');
  const deferred = await waitFor(flakyId, 'DEFERRED');
  assert.equal(deferred.details.reason, 'networkerror');
  assert.equal(new Date(String(deferred.details.nextAttemptAt)).getTime(), clock.now().getTime() + 60_000);
  dns.zone['flaky.test'] = mx('mx.plain.test');
  clock.advance(61_000);
  assert.equal((await waitFor(flakyId, 'DELIVERED')).details.host, 'mx.plain.test');
});

test('to, cc and bcc at one domain go in one transaction; each recipient gets its own result', async () => {
  const id = await send('ann@plain.test', { cc: ['unknown@plain.test'], bcc: ['dee@plain.test'] });
  const delivered = await waitFor(id, 'DELIVERED');
  const [transaction, ...others] = transactionsWith(servers.main!, id);
  assert.equal(others.length, 0, 'one transaction');
  assert.deepEqual(transaction!.to.sort(), ['ann@plain.test', 'dee@plain.test']);
  const recipients = delivered.details.recipients as { address: string; outcome: string; reason: string | null; bounceClass: string | null }[];
  assert.deepEqual(recipients.map((entry) => [entry.address, entry.outcome, entry.reason, entry.bounceClass]).sort(), [
    ['ann@plain.test', 'delivered', null, null],
    ['dee@plain.test', 'delivered', null, null],
    ['unknown@plain.test', 'bounced', 'userunknown', 'HARD'],
  ]);
});

test('a deferred recipient is retried alone, after the "try again in 2 minutes" the server asked for', async () => {
  busyAccepts = false;
  const id = await send('amy@plain.test', { cc: ['busy@plain.test'] });
  const deferred = await waitFor(id, 'DEFERRED');
  assert.equal(new Date(String(deferred.details.nextAttemptAt)).getTime(), clock.now().getTime() + 120_000);
  assert.deepEqual(transactionsWith(servers.main!, id).map((transaction) => transaction.to), [['amy@plain.test']]);
  busyAccepts = true;
  clock.advance(121_000);
  await waitFor(id, 'DELIVERED');
  assert.deepEqual(transactionsWith(servers.main!, id).map((transaction) => transaction.to), [['amy@plain.test'], ['busy@plain.test']]);
});

test('a connection dropped after DATA, and a server that never answers, defer without hanging', async () => {
  const dropped = await waitFor(await send('x@dropper.test'), 'DEFERRED');
  assert.equal(dropped.details.reason, 'networkerror', JSON.stringify(dropped.details));
  const stalled = await waitFor(await send('x@staller.test'), 'DEFERRED');
  assert.equal(stalled.details.reason, 'networkerror', JSON.stringify(stalled.details));
});

test('STARTTLS is used when offered; a failed handshake is retried in plain text and recorded', async () => {
  const good = await send('x@goodtls.test');
  const goodEvent = await waitFor(good, 'DELIVERED');
  assert.equal(transactionsWith(servers.goodTls!, good)[0]!.secure, true);
  assert.equal(goodEvent.details.tls, 'starttls');

  const broken = await send('x@brokentls.test');
  const brokenEvent = await waitFor(broken, 'DELIVERED');
  assert.equal(brokenEvent.details.tls, 'plaintext-after-tls-failure');
  assert.equal(transactionsWith(servers.brokenTls!, broken)[0]!.secure, false);
});

test('connections are reused, and two domains on one provider share its concurrency of 2', async () => {
  const before = servers.slow!.stats.connections;
  const ids = await Promise.all(Array.from({ length: 12 }, (_, index) => send(`u${index}@${index % 2 ? 'slow-a' : 'slow-b'}.test`)));
  await Promise.all(ids.map((id) => waitFor(id, 'DELIVERED')));
  assert.ok(servers.slow!.stats.maxOpen <= 2, `at most 2 sessions at once, saw ${servers.slow!.stats.maxOpen}`);
  assert.ok(servers.slow!.stats.connections - before <= 4, `12 messages over ${servers.slow!.stats.connections - before} connections`);
});

test('the MAIL FROM is a VERP address that decodes to the message and recipient; an edited one decodes to nothing', async () => {
  const id = await send('vera@plain.test');
  await waitFor(id, 'DELIVERED');
  const [transaction] = transactionsWith(servers.main!, id);
  const verp = new Verp(new KeyRing(KEY));
  assert.deepEqual(verp.decode(transaction!.from), { messageId: id, recipientIndex: 0, bounceDomain: 'bounces.elipackage.com' });
  assert.equal(verp.decode(transaction!.from.replace(`${id}-0-`, `${id}-1-`)), null);
  assert.ok(transaction!.from.split('@')[0]!.length <= 64);
  assert.match(transaction!.raw.toString('latin1'), /^DKIM-Signature: v=1;/);
});

test('the queue is viewed per destination: two domains of one provider are one destination once attempted', async () => {
  const ids = [await send('x@busy-a.test'), await send('y@busy-b.test')];
  for (const id of ids) await waitFor(id, 'DEFERRED');
  const summary = (await (await app.api('/queue')).json()) as { data: { destination: string; attempted: boolean; domains: string[]; deferred: number }[] };
  const provider = summary.data.find((entry) => entry.destination === 'mx.busyprovider.test');
  assert.deepEqual(provider && { attempted: provider.attempted, domains: provider.domains, deferred: provider.deferred }, {
    attempted: true, domains: ['busy-a.test', 'busy-b.test'], deferred: 2,
  });
  const metrics = await (await app.api('/metrics', { key: METRICS_TOKEN })).text();
  assert.match(metrics, /^mailroom_queue_depth\{destination="mx\.busyprovider\.test"\} 2$/m);

  const retry = await app.api('/queue/retry', { method: 'POST', json: { destination: 'mx.busyprovider.test' } });
  assert.equal(((await retry.json()) as { data: { retried: number } }).data.retried, 2);
  for (const id of ids) await eventually(async () => ((await events(id)).filter((event) => event.type === 'DEFERRED').length === 2 ? true : undefined));
});
