import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_KEY, eventually } from '../helpers/app.js';
import { countOf, createTestStore, onPostgres, type TestStore } from '../helpers/database.js';
import { prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';

/**
 * A crash during load, with the sandbox transport and the default lease: 32 clients send 2,000
 * messages, the process is SIGKILLed half-way, and a new one starts on the same data. Every
 * acknowledged message must be delivered within 30 s of the restart (the leases of the dead
 * process come back at once, not after the lease), and none twice: the catcher's row and the
 * DELIVERED event commit together, so the sandbox can have no duplicate at all.
 */
const TOTAL = 2_000;
const CLIENTS = 32;
const KILL_AFTER = 1_000;
const RECOVERY_MS = 30_000;

let store: TestStore;
const running: MailroomProcess[] = [];

before(async () => {
  store = await createTestStore();
  await prepareStore(store);
});
after(async () => {
  for (const process of running) if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill('SIGKILL');
  await Promise.all(running.map((process) => process.exited));
  await store.dispose();
});

async function spawn(roles: string, env: Record<string, string> = {}): Promise<MailroomProcess> {
  const process = await spawnMailroom({ ...store.env, MAILROOM_TRANSPORT: 'sandbox', MAILROOM_LOG_LEVEL: 'warn', ...env }, roles);
  running.push(process);
  return process;
}

const send = (url: string, index: number) =>
  fetch(`${url}/emails`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'load@example.com', to: `r${index}@example.com`, subject: `crash ${index}`, text: 'x'.repeat(500) }),
  });

/** Sends TOTAL messages from CLIENTS concurrent clients; `onAcknowledged` sees each 200 as it comes. */
async function load(url: string, onAcknowledged: (id: string, count: number) => void): Promise<string[]> {
  const acknowledged: string[] = [];
  let next = 0;
  let stopped = false;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (!stopped && next < TOTAL) {
      const index = next++;
      try {
        const response = await send(url, index);
        if (response.status !== 200) continue;
        const { data } = (await response.json()) as { data: { id: string } };
        if (stopped) return;
        acknowledged.push(data.id);
        onAcknowledged(data.id, acknowledged.length);
      } catch {
        stopped = true; // the process is gone: nothing in flight was acknowledged
      }
    }
  }));
  return acknowledged;
}

async function settledCounts(db: Awaited<ReturnType<TestStore['open']>>, ids: string[]) {
  const [row] = await db.query<{ delivered: number; caught: number; duplicates: number; events: number; queued: number }>(
    `SELECT (SELECT count(*) FROM messages WHERE id = ANY($1::text[]) AND status = 'DELIVERED') AS delivered,
            (SELECT count(DISTINCT message_id) FROM sandbox_messages) AS caught,
            (SELECT count(*) - count(DISTINCT message_id) FROM sandbox_messages) AS duplicates,
            (SELECT count(*) - count(DISTINCT message_id) FROM message_events WHERE type = 'DELIVERED') AS events,
            (SELECT count(*) FROM queue) AS queued`,
    [ids],
  );
  return row!;
}

test(`SIGKILL during a ${TOTAL}-message load: after a restart every message is delivered within 30 s, none twice`, async (t) => {
  const first = await spawn('api,worker');
  const acknowledged = await load(first.url!, (_id, count) => {
    if (count === KILL_AFTER) first.child.kill('SIGKILL');
  });
  assert.equal(await first.exited, 'SIGKILL');
  assert.ok(acknowledged.length >= KILL_AFTER, `${acknowledged.length} acknowledged`);

  const restartedAt = Date.now();
  const second = await spawn('api,worker');
  const readyMs = Date.now() - restartedAt;
  // Read through the API while the process runs (an embedded database is owned by one process).
  const waiting = async (status: string) => {
    const response = await fetch(`${second.url}/emails?status=${status}&limit=1`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
    assert.equal(response.status, 200);
    return ((await response.json()) as { data: unknown[] }).data.length;
  };
  await eventually(async () => ((await waiting('QUEUED')) === 0 && (await waiting('DEFERRED')) === 0) || undefined, RECOVERY_MS + 10_000, 'nothing QUEUED or DEFERRED');
  const tookMs = Date.now() - restartedAt;
  t.diagnostic(`${acknowledged.length} acknowledged; the new process was ready after ${readyMs} ms, and all was delivered ${tookMs} ms after the restart`);
  assert.ok(tookMs <= RECOVERY_MS, `delivered ${tookMs} ms after the restart`);

  second.child.kill('SIGTERM');
  await second.exited;
  const reader = await store.open();
  try {
    const counts = await settledCounts(reader, acknowledged);
    assert.equal(counts.delivered, acknowledged.length, 'every acknowledged message DELIVERED');
    assert.equal(counts.duplicates, 0, 'no message caught twice');
    assert.equal(counts.events, 0, 'no message with two DELIVERED events');
    assert.equal(counts.queued, 0, 'nothing left in the queue');
    // Every caught message has its event, and every DELIVERED event its caught copy.
    assert.equal(await countOf(reader, `SELECT count(*) AS n FROM message_events e WHERE e.type = 'DELIVERED' AND NOT EXISTS (SELECT 1 FROM sandbox_messages s WHERE s.message_id = e.message_id)`), 0);
    assert.equal(await countOf(reader, `SELECT count(*) AS n FROM sandbox_messages s WHERE NOT EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = s.message_id AND e.type = 'DELIVERED')`), 0);
  } finally {
    await reader.close();
  }
});

test('PostgreSQL: a worker that dies while another runs has its messages taken over within seconds', { skip: !onPostgres && 'one process owns an embedded database' }, async (t) => {
  const db = await store.open();
  try {
    // Messages queued with no worker running, then two workers; one is killed mid-delivery.
    const api = await spawn('api');
    const ids = await load(api.url!, () => {});
    api.child.kill('SIGTERM');
    await api.exited;
    const [queuedBefore] = await db.query<{ n: number }>('SELECT count(*) AS n FROM queue');
    // Worker-only processes are ready when they log "delivery worker started" (info).
    // Started together: started one after the other, the survivor had the queue to itself while
    // the victim's process started, and on a loaded machine (seen in CI) emptied it first.
    const [survivor, victim] = await Promise.all([
      spawn('worker', { MAILROOM_WORKER_CONCURRENCY: '4', MAILROOM_LOG_LEVEL: 'info' }),
      spawn('worker', { MAILROOM_WORKER_CONCURRENCY: '200', MAILROOM_LOG_LEVEL: 'info' }),
    ]);
    const largestHolder = `SELECT COALESCE(max(n), 0) AS n FROM (SELECT count(*) AS n FROM queue WHERE lease_token IS NOT NULL GROUP BY split_part(lease_token, '.', 1)) held`;
    await eventually(async () => (await countOf(db, largestHolder)) > 50 || undefined, 30_000, 'the victim holds leases');
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    const leasedByVictim = await countOf(db, largestHolder);
    assert.ok(leasedByVictim > 4, `the victim held ${leasedByVictim} leases at its death (the survivor holds at most 4)`);
    await eventually(async () => (await countOf(db, 'SELECT count(*) AS n FROM queue')) === 0 || undefined, 60_000, 'every message delivered by the survivor');
    const tookMs = Date.now() - killedAt;
    t.diagnostic(`${queuedBefore?.n} queued; ${leasedByVictim} leased at the kill; the survivor finished ${tookMs} ms after it`);
    // The default lease is 60 s: finishing well inside it means the leases came back early.
    assert.ok(tookMs < 30_000, `took ${tookMs} ms`);
    const [counts] = [await settledCounts(db, ids)];
    assert.equal(counts.delivered, ids.length);
    assert.equal(counts.duplicates, 0);
    assert.equal(await countOf(db, 'SELECT count(*) AS n FROM workers'), 1, 'the dead worker is unregistered, the survivor is not');
    survivor.child.kill('SIGTERM');
    await survivor.exited;
    assert.equal(await countOf(db, 'SELECT count(*) AS n FROM workers'), 0, 'a clean stop unregisters');
  } finally {
    await db.close();
  }
});
