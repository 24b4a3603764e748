import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp } from '../helpers/app.js';
import { countOf, createTestStore, onPostgres } from '../helpers/database.js';
import { prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

const TOTAL = 5_000;

test(
  'two worker processes on one PostgreSQL deliver 5,000 messages, each exactly once',
  { skip: onPostgres ? false : 'two processes need PostgreSQL: set MAILROOM_TEST_DATABASE_URL (.ci/run does)', timeout: 180_000 },
  async () => {
    const sink = await startSmtpSink();
    const store = await createTestStore();
    await prepareStore(store, ['elipackage.com']);
    const env = { ...store.env, MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: `${sink.url}?starttls=off` };
    const api = await startTestApp({ ...env, MAILROOM_ROLES: 'api' }, { store });
    const workers: MailroomProcess[] = [];
    try {
      const ids: string[] = [];
      for (let batch = 0; batch < TOTAL / 1000; batch++) {
        const messages = Array.from({ length: 1000 }, (_, index) => ({ ...SEED_REQUEST, to: `user${batch * 1000 + index}@example.com` }));
        const response = await api.api('/emails/bulk', { method: 'POST', json: { messages } });
        assert.equal(response.status, 200);
        const body = (await response.json()) as { data: { data?: { id: string } }[] };
        for (const result of body.data) ids.push(result.data!.id);
      }
      assert.equal(ids.length, TOTAL);

      workers.push(await spawnMailroom(env, 'worker'), await spawnMailroom(env, 'worker'));
      await eventually(async () => sink.messages.length >= TOTAL || undefined, 150_000, `${TOTAL} messages at the sink`);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // a duplicate would arrive now

      const seen = new Map<string, number>();
      for (const message of sink.messages) {
        const id = /^Message-ID: <([^@>]+)@/im.exec(message.raw.toString())?.[1] ?? '';
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      assert.equal(sink.messages.length, TOTAL, 'no duplicates');
      for (const id of ids) assert.equal(seen.get(id), 1, `message ${id} delivered once`);

      assert.equal(await countOf(api.mailroom.db, 'SELECT count(*) AS n FROM queue'), 0);
      const perWorker = await api.mailroom.db.query<{ worker: string; n: number }>(
        `SELECT details->>'worker' AS worker, count(*) AS n FROM message_events WHERE type = 'SENT' GROUP BY 1`,
      );
      assert.equal(perWorker.length, 2, 'both workers delivered');
      assert.equal(perWorker.reduce((sum, row) => sum + row.n, 0), TOTAL);
    } finally {
      for (const worker of workers) {
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
      await api.stop();
      await store.dispose();
      await sink.close();
    }
  },
);
