import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, TEST_KEY } from '../../helpers/app.js';
import { countOf, createTestStore, onPostgres, type TestStore } from '../../helpers/database.js';
import { prepareStore, spawnMailroom, type MailroomProcess } from '../../helpers/process.js';

/**
 * The rate limit across processes: two `mailroom start --roles api,smtp` processes on one
 * PostgreSQL, hammered at once over HTTP and SMTP by more clients than the day allows. Exactly
 * the limit is accepted and stored, whichever process each request reaches. (PGlite is one
 * process by construction: its data directory is locked to it.)
 */
const PER_DAY = 60;
let store: TestStore;
const processes: MailroomProcess[] = [];

before(async () => {
  if (!onPostgres) return;
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  for (let index = 0; index < 2; index++) {
    processes.push(await spawnMailroom({
      ...store.env,
      MAILROOM_LOG_LEVEL: 'warn',
      MAILROOM_TRANSPORT: 'relay',
      MAILROOM_RELAY_URL: 'smtp://127.0.0.1:9',
      MAILROOM_RATE_LIMIT_PER_DAY: String(PER_DAY),
      MAILROOM_RATE_LIMIT_PER_SECOND: '0',
    }, 'api'));
  }
});
after(async () => {
  for (const child of processes) {
    child.child.kill('SIGTERM');
    await child.exited;
  }
  if (store) await store.dispose();
});

test('two API processes under concurrent load never accept more than the day allows, and accept exactly that', { skip: onPostgres ? false : 'needs PostgreSQL: two processes cannot share an embedded database' }, async () => {
  const send = async (index: number) => {
    const response = await fetch(`${processes[index % 2]!.url}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...SEED_REQUEST, to: `buyer${index}@example.com` }),
    });
    await response.arrayBuffer();
    return { process: index % 2, status: response.status, retryAfter: response.headers.get('retry-after') };
  };
  // One message through each process first, so both are warm and both have taken from the
  // shared allowance; a cold process could otherwise answer its first request only after the
  // warm one had used up the day, and the race below would not span two processes.
  const warm = [await send(0), await send(1)];
  assert.deepEqual(warm.map((response) => response.status), [200, 200]);
  const attempts = PER_DAY * 3;
  const responses = await Promise.all(Array.from({ length: attempts }, (_, index) => send(index + 2)));
  const accepted = responses.filter((response) => response.status === 200);
  assert.equal(accepted.length + warm.length, PER_DAY);
  assert.ok(responses.every((response) => response.status === 200 || (response.status === 429 && Number(response.retryAfter) > 0)), 'the rest are 429 with Retry-After');

  const db = await store.open();
  try {
    assert.equal(await countOf(db, 'SELECT count(*) AS n FROM messages'), PER_DAY);
    assert.equal(await countOf(db, 'SELECT day_used AS n FROM rate_usage'), PER_DAY);
  } finally {
    await db.close();
  }
  // A bulk request after the day is full gets every message refused, one by one.
  const bulk = await fetch(`${processes[0]!.url}/emails/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ defaults: SEED_REQUEST, messages: [{ to: 'late1@example.com' }, { to: 'late2@example.com' }] }),
  });
  const { data: results } = (await bulk.json()) as { data: { error?: { code: string } }[] };
  assert.deepEqual(results.map((result) => result.error?.code), ['RATE_LIMITED', 'RATE_LIMITED']);
});
