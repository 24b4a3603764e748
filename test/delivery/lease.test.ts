import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyRing } from '../../src/crypto/keyring.js';
import { Verp } from '../../src/bounces/verp.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import type { DeliveryReport, OutboundMessage, Transport } from '../../src/delivery/transport.js';
import { createLogger } from '../../src/shared/log.js';
import { systemClock } from '../../src/shared/clock.js';
import { createMetrics } from '../../src/shared/metrics.js';
import { eventually, SEED_REQUEST, startTestApp } from '../helpers/app.js';

/**
 * A worker whose own leases run out while its deliveries are still in flight (a host that
 * stalled past the renewal) takes those messages back on its next claim: it must not send them
 * a second time, and their results must still be recorded (under the new lease).
 */
test('a message whose lease ran out during its delivery is not sent again by the same worker', { timeout: 60_000 }, async () => {
  const app = await startTestApp({ MAILROOM_ROLES: 'api' });
  const sent: string[] = [];
  const slow: Transport = {
    name: 'slow',
    async deliver(message: OutboundMessage): Promise<DeliveryReport> {
      sent.push(message.messageId);
      // Longer than the lease (300 ms) and than the renewal period (1 s): the lease runs out.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      return {
        acceptedAs: 'delivered',
        recipients: message.envelope.to.map((address) => ({
          address, reply: '250 ok', outcome: 'delivered' as const, code: 250, enhancedCode: '2.0.0', reason: null, bounceClass: null, retryAfterMs: null, rule: 'test',
        })),
      };
    },
    async close() {},
  };
  const worker = new DeliveryWorker(app.mailroom.db, slow, systemClock, createLogger('silent'), {
    concurrency: 10, leaseMs: 300, maxRetryMs: 3_600_000, idleMs: 100, verp: new Verp(new KeyRing(Buffer.alloc(32, 1))), secrets: app.mailroom.secrets, bounceDomain: '',
  }, createMetrics(app.mailroom.db));
  try {
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [], to: `lease${index}@example.com` } });
      ids.push(((await response.json()) as { data: { id: string } }).data.id);
    }
    await worker.start();
    for (const id of ids) {
      await eventually(async () => {
        const response = await app.api(`/emails/${id}`);
        return ((await response.json()) as { data: { status: string } }).data.status === 'DELIVERED';
      }, 20_000, `${id} DELIVERED`);
    }
    assert.deepEqual([...sent].sort(), [...ids].sort(), 'each message sent once, though its lease ran out and was taken back');
  } finally {
    await worker.stop(5_000);
    await app.stop();
  }
});
