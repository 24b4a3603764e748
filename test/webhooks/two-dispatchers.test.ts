import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventually, SEED_REQUEST, startTestApp } from '../helpers/app.js';
import { createTestStore, onPostgres } from '../helpers/database.js';
import { prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { startWebhookReceiver } from '../helpers/webhookReceiver.js';

const MESSAGES = 400;
const ENDPOINTS = 5;

test(
  'two worker processes on one PostgreSQL share the webhook lanes: every event once per endpoint, each message\'s in order',
  { skip: onPostgres ? false : 'two processes need PostgreSQL: set MAILROOM_TEST_DATABASE_URL (.ci/run does)', timeout: 180_000 },
  async () => {
    const receiver = await startWebhookReceiver();
    const store = await createTestStore();
    await prepareStore(store);
    const env = { ...store.env, MAILROOM_TRANSPORT: 'sandbox', MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' };
    const api = await startTestApp({ ...env, MAILROOM_ROLES: 'api' }, { store });
    const workers: MailroomProcess[] = [];
    try {
      const secrets = new Map<string, string>();
      for (let index = 0; index < ENDPOINTS; index++) {
        const response = await api.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/hook${index}` } });
        assert.equal(response.status, 201);
        secrets.set(`/hook${index}`, ((await response.json()) as { data: { secret: string } }).data.secret);
      }
      workers.push(await spawnMailroom(env, 'worker'), await spawnMailroom(env, 'worker'));
      // Events keep coming while both dispatchers run: QUEUED from here, DELIVERED from the workers.
      for (let batch = 0; batch < MESSAGES / 100; batch++) {
        const messages = Array.from({ length: 100 }, (_, index) => ({ ...SEED_REQUEST, callbacks: [], to: `user${batch * 100 + index}@example.com` }));
        assert.equal((await api.api('/emails/bulk', { method: 'POST', json: { messages } })).status, 200);
      }
      const expected = MESSAGES * 2;
      await eventually(async () => receiver.received.length >= expected * ENDPOINTS || undefined, 120_000, 'every event at every endpoint');
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // a duplicate would arrive now

      for (const [path, secret] of secrets) {
        const got = receiver.received.filter((request) => request.path === path);
        const ids = got.map((request) => request.json.id);
        assert.equal(got.length, expected, `${path}: every event once`);
        assert.equal(new Set(ids).size, expected, `${path}: no duplicates`);
        // Each message's events in order (QUEUED before DELIVERED). Across messages the order
        // is that of the commits, which concurrent transactions need not make the ids' order.
        const seenQueued = new Set<string>();
        for (const request of got) {
          if (request.json.type === 'QUEUED') seenQueued.add(request.json.messageId!);
          else assert.ok(seenQueued.has(request.json.messageId!), `${path}: ${request.json.messageId} DELIVERED after its QUEUED`);
        }
        for (const request of got.slice(0, 20)) {
          const timestamp = new Date(Number(request.headers['webhook-timestamp']) * 1000);
          assert.ok(request.headers['webhook-signature']!.split(' ').includes(new Webhook(secret).sign(request.headers['webhook-id']!, timestamp, request.body)));
        }
      }
    } finally {
      for (const worker of workers) {
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
      await api.stop();
      await store.dispose();
      await receiver.close();
    }
  },
);
