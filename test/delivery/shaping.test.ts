import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { freePort, prepareStore } from '../helpers/process.js';
import { startScriptedSmtp } from '../helpers/scriptedSmtp.js';

/**
 * A slow destination never holds back the others, and mail stuck behind it keeps its lease: with a worker of concurrency 4 and two
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
    // Shorter than the stall, so the second test sees leases outlive it.
    MAILROOM_QUEUE_LEASE_SECONDS: '5',
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

test('messages stuck longer than their lease are not taken again: the live worker renews the lease', async () => {
  const connections = staller.stats.connections;
  // 7 s: past the 5 s lease of the messages claimed in the first test, which are still stalled.
  await new Promise((resolve) => setTimeout(resolve, 7_000));
  assert.equal(staller.stats.connections, connections, 'a message was claimed and sent again while its first attempt was in flight');
  const rows = await app.mailroom.db.query<{ held: number; due_later: number }>(
    `SELECT count(*) FILTER (WHERE lease_token IS NOT NULL)::int AS held,
            count(*) FILTER (WHERE lease_token IS NOT NULL AND due_at > now())::int AS due_later
     FROM queue WHERE domain = 'stall.test'`,
  );
  assert.ok((rows[0]?.held ?? 0) >= 2, `only ${rows[0]?.held} stalled messages hold a lease`);
  assert.equal(rows[0]?.due_later, rows[0]?.held, 'every held lease reaches into the future');
});
