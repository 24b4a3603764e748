import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEED_REQUEST, TEST_KEY, eventually } from '../helpers/app.js';
import { countOf, createTestStore } from '../helpers/database.js';
import { prepareStore, spawnMailroom } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

function messageIdOf(raw: Buffer): string {
  return /^Message-ID: <([^@>]+)@/im.exec(raw.toString())?.[1] ?? '';
}

test('SIGTERM: deliveries in flight finish and are recorded, the rest is handed back, nothing is lost or sent twice', { timeout: 120_000 }, async () => {
  const sink = await startSmtpSink({ delayMs: 400 });
  const store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  const env = {
    ...store.env,
    MAILROOM_TRANSPORT: 'relay',
    MAILROOM_RELAY_URL: `${sink.url}?starttls=off`,
    MAILROOM_WORKER_CONCURRENCY: '4',
    MAILROOM_RELAY_MAX_CONNECTIONS: '4',
  };
  try {
    const first = await spawnMailroom(env, 'api,worker');
    const ids: string[] = [];
    for (let index = 0; index < 40; index++) {
      const response = await fetch(`${first.url}/emails`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...SEED_REQUEST, externalId: `term${index}` }),
      });
      assert.equal(response.status, 200);
      ids.push(((await response.json()) as { data: { id: string } }).data.id);
    }
    await eventually(async () => sink.messages.length >= 2 || undefined, 20_000, 'deliveries under way');
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.match(first.output(), /shutting down/);

    const db = await store.open();
    try {
      const delivered = new Set(sink.messages.map((message) => messageIdOf(message.raw)));
      const sent = await db.query<{ id: string }>(`SELECT id FROM messages WHERE status = 'SENT'`);
      // Everything the relay took was recorded before exit: no delivery is left unknown.
      assert.deepEqual(new Set(sent.map((row) => row.id)), delivered);
      assert.ok(delivered.size < ids.length, 'the shutdown came before the queue drained');
      // The rest is queued, unleased, and due now.
      assert.equal(await countOf(db, 'SELECT count(*) AS n FROM queue WHERE lease_token IS NOT NULL'), 0);
      assert.equal(await countOf(db, 'SELECT count(*) AS n FROM queue WHERE due_at <= now()'), ids.length - delivered.size);
    } finally {
      await db.close();
    }

    const second = await spawnMailroom(env, 'worker');
    try {
      await eventually(async () => sink.messages.length >= ids.length || undefined, 60_000, 'the rest delivered after restart');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const counts = new Map<string, number>();
      for (const message of sink.messages) counts.set(messageIdOf(message.raw), (counts.get(messageIdOf(message.raw)) ?? 0) + 1);
      for (const id of ids) assert.equal(counts.get(id), 1, `message ${id} delivered once`);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  } finally {
    await store.dispose();
    await sink.close();
  }
});
