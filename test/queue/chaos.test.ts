import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_KEY, eventually } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';
import { seededRandom as random } from '../helpers/random.js';

/**
 * Chaos: 5,000 queued messages delivered to a real SMTP server while the delivery process is
 * SIGKILLed five times at random moments, each time while deliveries are in flight. Every
 * message must arrive at least once, duplicates (sent, but killed before the result was
 * recorded) must stay under 0.5%, and nothing may be left behind. CHAOS_SEED replays a run.
 */
const TOTAL = 5_000;
const KILLS = 5;
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));


let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
before(async () => {
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  sink = await startSmtpSink();
});
after(async () => {
  await sink.close();
  await store.dispose();
});

function messageIdOf(raw: Buffer): string {
  return /^Message-ID: <([^@>]+)@/im.exec(raw.toString('latin1'))?.[1] ?? '';
}

test(`${TOTAL} messages, the worker SIGKILLed ${KILLS} times: all arrive, duplicates < 0.5%, none left`, async (t) => {
  t.diagnostic(`CHAOS_SEED=${seed}`);
  const next = random(seed);
  const env = {
    ...store.env,
    MAILROOM_TRANSPORT: 'relay',
    MAILROOM_RELAY_URL: `${sink.url}?starttls=off`,
    MAILROOM_QUEUE_LEASE_SECONDS: '5',
    // Four connections to the relay. Each holds the final dot of its next message until the last
    // result on it is recorded (smtpPool.ts), so a kill leaves at most one delivered but
    // unrecorded message per connection: the one the sink has just accepted, whose reply the
    // worker has not read or recorded yet, which no sender can avoid. Five kills: at most 20 of
    // the 25 duplicates the 0.5% allows, however busy the machine.
    MAILROOM_RELAY_MAX_CONNECTIONS: '4',
  };

  // Queue everything first (no worker), through the API.
  const ingest = await spawnMailroom(env, 'api');
  const ids: string[] = [];
  for (let batch = 0; batch < TOTAL / 500; batch++) {
    const messages = Array.from({ length: 500 }, (_, index) => ({
      from: 'promo@elipackage.com', to: `u${batch * 500 + index}@example.com`, subject: `chaos ${batch * 500 + index}`, text: 'x'.repeat(900),
    }));
    const response = await fetch(`${ingest.url}/emails/bulk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { data: { data?: { id: string } }[] };
    for (const result of body.data) ids.push(result.data!.id);
  }
  ingest.child.kill('SIGTERM');
  await ingest.exited;
  assert.equal(ids.length, TOTAL);

  // Kill points: arrival counts spread over the run, each at a random place in its own slice.
  const killAt = Array.from({ length: KILLS }, (_, index) => Math.floor(TOTAL * (0.08 + (index + next() * 0.8) * 0.16)));
  t.diagnostic(`kills at arrivals ${killAt.join(', ')}`);
  const window: number[] = [];
  for (const arrivals of killAt) {
    const worker: MailroomProcess = await spawnMailroom(env, 'worker');
    await eventually(async () => sink.messages.length >= arrivals || worker.child.exitCode !== null || undefined, 60_000, `${arrivals} arrivals`);
    worker.child.kill('SIGKILL');
    assert.equal(await worker.exited, 'SIGKILL', `the worker died by the kill, not before:\n${worker.output()}`);
    window.push(sink.messages.length - arrivals);
  }
  const last = await spawnMailroom(env, 'worker');
  try {
    await eventually(async () => new Set(sink.messages.map((message) => messageIdOf(message.raw))).size >= TOTAL || undefined, 120_000, 'every message at the sink');
  } finally {
    // A clean stop records what is in flight; the embedded database is then free to open here.
    last.child.kill('SIGTERM');
    await last.exited;
  }
  const db = await store.open();
  try {
    assert.equal(await countOf(db, 'SELECT count(*) AS n FROM queue'), 0, 'an empty queue');
    assert.equal(await countOf(db, `SELECT count(*) AS n FROM messages WHERE status <> 'SENT'`), 0, 'every message SENT');
  } finally {
    await db.close();
  }

  const arrivals = new Map<string, number>();
  for (const message of sink.messages) arrivals.set(messageIdOf(message.raw), (arrivals.get(messageIdOf(message.raw)) ?? 0) + 1);
  const missing = ids.filter((id) => !arrivals.has(id));
  assert.deepEqual(missing, [], 'every message arrived');
  const duplicates = sink.messages.length - arrivals.size;
  t.diagnostic(`duplicates: ${duplicates} of ${TOTAL} (${((duplicates / TOTAL) * 100).toFixed(2)}%); arrivals between each kill signal and the process's death: ${window.join(', ')}`);
  assert.ok(duplicates < TOTAL * 0.005, `${duplicates} duplicates is not under 0.5% (seed ${seed})`);
});
