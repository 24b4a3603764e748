import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/log.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { TargetResolver } from '../../src/webhooks/ssrf.js';
import { eventually, SEED_REQUEST, startTestApp } from '../helpers/app.js';

/**
 * A lane whose sending outlasts its lease (a receiver that takes its time with every request)
 * must stay with the dispatcher sending it: a second dispatcher that took it would send the same
 * endpoint's events beside the first, twice and out of order. The first renews the lease.
 */
test('a lane sent for longer than its lease is renewed, and no other dispatcher takes it', { timeout: 60_000 }, async () => {
  let holding = 0;
  let most = 0;
  const received: number[] = [];
  const server = http.createServer((request, response) => {
    holding++;
    most = Math.max(most, holding);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number }).id);
      setTimeout(() => {
        holding--;
        response.writeHead(204);
        response.end();
      }, 400);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_ROLES: 'api' });
  const options = { concurrency: 4, batch: 100, leaseMs: 1_500, idleMs: 100, retentionMs: 86_400_000 };
  const dispatchers = [0, 1].map(() => new WebhookDispatcher(app.mailroom.db, new WebhookSender(new TargetResolver([], true), true), app.mailroom.secrets, systemClock, createLogger('silent'), options));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`;
    assert.equal((await app.api('/webhooks', { method: 'POST', json: { url, eventTypes: ['QUEUED'] } })).status, 201);
    const messages = Array.from({ length: 8 }, (_, index) => ({ ...SEED_REQUEST, callbacks: [], to: `slow${index}@example.com` }));
    assert.equal((await app.api('/emails/bulk', { method: 'POST', json: { messages } })).status, 200);
    await dispatchers[0]!.start();
    await eventually(async () => received.length > 0 || undefined, 10_000, 'the first request');
    await dispatchers[1]!.start();
    // 8 requests of 400 ms: 3.2 s, more than twice the 1.5 s lease.
    await eventually(async () => received.length >= 8 || undefined, 30_000, 'all eight events');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(most, 1, 'never two requests to the endpoint at once');
    assert.deepEqual(received, [...received].sort((a, b) => a - b), 'in event order');
    assert.equal(new Set(received).size, received.length, 'none twice');
  } finally {
    for (const dispatcher of dispatchers) await dispatcher.stop(5_000);
    await app.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
