import { KeyRing } from '../../src/crypto/keyring.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Verp } from '../../src/bounces/verp.js';
import type { DeliveryReport, OutboundMessage, Transport } from '../../src/delivery/transport.js';
import { DeliveryWorker, MAX_BYTES_IN_FLIGHT } from '../../src/delivery/worker.js';
import { Queue } from '../../src/queue/queue.js';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/log.js';
import { createMetrics } from '../../src/shared/metrics.js';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { samplePdf } from '../helpers/samplePdf.js';

/**
 * A worker claims no more message content at once than it can hold: each queue row records the
 * size of its content, a claim takes rows up to a byte budget (passing over one too large for
 * what is left), and the worker keeps MAX_BYTES_IN_FLIGHT in delivery at most. Without it, a
 * worker restarted on a backlog of 10 MB messages read a hundred of them in one statement.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
});
after(() => app.stop());

async function send(json: Record<string, unknown>): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [], ...json } });
  const body = (await response.json()) as { data: { id: string } };
  assert.equal(response.status, 200, JSON.stringify(body).slice(0, 300));
  return body.data.id;
}

test('claims take rows up to the byte budget, pass over a row too large for it, and take the first whatever its size only when told', async () => {
  const ids: string[] = [];
  for (const length of [100_000, 300_000, 100_000, 100_000]) ids.push(await send({ to: `budget${ids.length}@example.com`, text: 'x'.repeat(length) }));
  const sizes = await app.mailroom.db.query<{ message_id: string; size: number }>('SELECT message_id, size FROM queue WHERE message_id = ANY($1::text[])', [ids]);
  for (const row of sizes) assert.ok(row.size >= 100_000 && row.size < 302_000, `size ${row.size} stored with the queue row`);

  const queue = new Queue(app.mailroom.db);
  const claim = async (bytes: number, atLeastOne: boolean) => {
    const now = new Date(Date.now() + 1_000);
    const claimed = await queue.claim(now, new Date(now.getTime() + 60_000), `t${Math.random()}`, 100, [], [], { bytes, atLeastOne });
    return claimed.map((message) => ids.indexOf(message.message_id));
  };
  assert.deepEqual(await claim(50_000, false), [], 'nothing fits 50 kB');
  assert.deepEqual((await claim(250_000, false)).sort(), [0, 2], 'the 300 kB row is passed over; the one after it still fits');
  assert.deepEqual(await claim(50_000, true), [1], 'with nothing in delivery, the first due row is taken whatever its size');
  assert.deepEqual(await claim(250_000, false), [3]);
});

/** A transport that holds each delivery a moment and records how many large messages it held at once. */
function countingTransport(holdMs: number) {
  let current = 0;
  let peak = 0;
  const delivered: string[] = [];
  const transport: Transport = {
    name: 'counting',
    async deliver(message: OutboundMessage): Promise<DeliveryReport> {
      current++;
      peak = Math.max(peak, current);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      current--;
      delivered.push(message.messageId);
      return {
        acceptedAs: 'delivered',
        recipients: message.envelope.to.map((address) => ({
          address, reply: '250 ok', outcome: 'delivered' as const, code: 250, enhancedCode: '2.0.0', reason: null, bounceClass: null, retryAfterMs: null, rule: 'test',
        })),
      };
    },
    async close() {},
  };
  return { transport, delivered, peak: () => peak };
}

test('a worker on a backlog of large messages holds no more than MAX_BYTES_IN_FLIGHT of them in delivery at once', { timeout: 120_000 }, async () => {
  const attachment = Buffer.concat([samplePdf(), randomBytes(4 * 1024 * 1024)]).toString('base64');
  const ids: string[] = [];
  for (let index = 0; index < 10; index++) {
    ids.push(await send({ to: `large${index}@example.com`, text: 'large', attachments: [{ filename: 'report.pdf', content: attachment }] }));
  }
  const counting = countingTransport(300);
  const worker = new DeliveryWorker(app.mailroom.db, counting.transport, systemClock, createLogger('silent'), {
    concurrency: 100, leaseMs: 60_000, maxRetryMs: 3_600_000, idleMs: 100, verp: new Verp(new KeyRing(Buffer.alloc(32, 1))), secrets: app.mailroom.secrets, bounceDomain: '',
  }, createMetrics(app.mailroom.db));
  try {
    await worker.start();
    await eventually(async () => ids.every((id) => counting.delivered.includes(id)), 60_000, 'every large message delivered');
  } finally {
    await worker.stop(5_000);
  }
  const fits = Math.floor(MAX_BYTES_IN_FLIGHT / attachment.length);
  assert.ok(counting.peak() <= fits, `${counting.peak()} messages of ${attachment.length} bytes were in delivery at once; at most ${fits} fit ${MAX_BYTES_IN_FLIGHT} bytes`);
  assert.ok(counting.peak() >= 2, 'more than one at a time when they fit');
});
