import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { freePort, prepareStore } from '../helpers/process.js';
import { startScriptedSmtp } from '../helpers/scriptedSmtp.js';

/**
 * A slow destination never holds back the others: with a worker of concurrency 4 and two
 * connections per destination, a destination that never answers DATA has a backlog far larger
 * than the worker's concurrency, and mail for another destination still goes out at once, long
 * before the stalled transactions time out.
 */
let dns: TestDnsServer;
let store: TestStore;
let app: TestApp;
type Server = Awaited<ReturnType<typeof startScriptedSmtp>>;
let staller: Server;
let fast: Server;

before(async () => {
  const port = await freePort();
  staller = await startScriptedSmtp({ host: '127.0.0.5', port, data: () => 'stall' });
  fast = await startScriptedSmtp({ host: '127.0.0.1', port });
  dns = await startDnsServer({
    'stall.test': { MX: [{ exchange: 'mx.stall.test', priority: 10 }] },
    'mx.stall.test': { A: ['127.0.0.5'] },
    'fast.test': { MX: [{ exchange: 'mx.fast.test', priority: 10 }] },
    'mx.fast.test': { A: ['127.0.0.1'] },
  });
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({
    MAILROOM_TRANSPORT: 'mx',
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_MX_DELIVERY_PORT: String(port),
    MAILROOM_SMTP_TIMEOUT_SECONDS: '30',
    MAILROOM_WORKER_CONCURRENCY: '4',
    MAILROOM_DESTINATION_CONCURRENCY: '2',
    // The stalled transactions are still in flight at the end: a short grace, then their leases go back.
    MAILROOM_SHUTDOWN_SECONDS: '1',
  }, { store });
});
after(async () => {
  await app?.stop();
  await store?.dispose();
  await dns?.close();
  await Promise.all([staller?.close(), fast?.close()]);
});

async function send(to: string): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

test('a destination that stalls with a backlog of 10 leaves the worker free for another destination', async () => {
  const stalled = await Promise.all(Array.from({ length: 10 }, (_, index) => send(`user${index}@stall.test`)));
  // Both connections to the stalled destination are open and waiting for their DATA replies.
  await eventually(async () => (staller.stats.open >= 2 ? true : undefined), 10_000, 'two stalled connections');
  const started = Date.now();
  const id = await send('someone@fast.test');
  await eventually(async () => {
    const events = (await (await app.api(`/emails/${id}/events`)).json()) as { data: { type: string }[] };
    return events.data.some((event) => event.type === 'DELIVERED') ? true : undefined;
  }, 10_000, 'the fast destination delivered');
  const took = Date.now() - started;
  assert.ok(took < 5_000, `took ${took} ms: held back by the stalled destination (its time-out is 30 s)`);
  assert.equal(fast.transactions.length, 1);
  assert.ok(staller.stats.maxOpen <= 2, `${staller.stats.maxOpen} connections to a destination limited to 2`);
  const [first] = stalled;
  const status = ((await (await app.api(`/emails/${first}`)).json()) as { data: { status: string } }).data.status;
  assert.equal(status, 'QUEUED', 'the stalled messages are still waiting, none lost');
});
