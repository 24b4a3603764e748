import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, TEST_KEY, eventually } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore, spawnMailroom } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

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
  return /^Message-ID: <([^@>]+)@/im.exec(raw.toString())?.[1] ?? '';
}

test('SIGKILL right after 200s: on restart every acknowledged message is there and is delivered exactly once', async () => {
  const env = { ...store.env, MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: `${sink.url}?starttls=off` };
  const first = await spawnMailroom(env, 'api');
  const total = 400;
  const killAt = 300;
  const acknowledged: string[] = [];
  let killed = false;
  const requests = Array.from({ length: total }, (_, index) =>
    fetch(`${first.url}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...SEED_REQUEST, externalId: `crash${index}` }),
    }).then(
      async (response) => {
        if (response.status !== 200) return;
        const body = (await response.json()) as { data: { id: string } };
        if (killed) return; // answered after the kill signal was sent: not counted
        acknowledged.push(body.data.id);
        if (acknowledged.length === killAt) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      },
      () => undefined, // in flight when the process died: never acknowledged
    ),
  );
  await Promise.all(requests);
  assert.equal(await first.exited, 'SIGKILL');
  assert.ok(acknowledged.length >= killAt, `${acknowledged.length} acknowledged before the kill`);

  const second = await spawnMailroom(env, 'api,worker');
  try {
    await eventually(async () => {
      const ids = new Set(sink.messages.map((message) => messageIdOf(message.raw)));
      return acknowledged.every((id) => ids.has(id)) || undefined;
    }, 60_000, 'every acknowledged message at the relay sink');
    // Let any straggler (a duplicate, or an unacknowledged request that was stored) arrive too.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const counts = new Map<string, number>();
    for (const message of sink.messages) counts.set(messageIdOf(message.raw), (counts.get(messageIdOf(message.raw)) ?? 0) + 1);
    for (const id of acknowledged) assert.equal(counts.get(id), 1, `message ${id} delivered once`);
    for (const [id, count] of counts) assert.equal(count, 1, `message ${id} (acknowledged or not) delivered at most once`);

    const response = await fetch(`${second.url}/emails/${acknowledged[0]}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
    const { data } = (await response.json()) as { data: { status: string } };
    assert.equal(data.status, 'SENT');
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
});
