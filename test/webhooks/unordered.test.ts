import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { eventually, SEED_REQUEST, startTestApp } from '../helpers/app.js';
import { createTestStore } from '../helpers/database.js';

/**
 * An ordered webhook (the default) has one request in flight; one created with
 * `ordered: false` has several, pipelined on its connection. Node's HTTP server reads a
 * pipelined request only after answering the one before, which would hide the pipeline, so the
 * receiver here is a minimal HTTP/1.1 server on a raw socket: it reads every request as it
 * arrives, answers them in order 20 ms apart, and counts per path how many it held unanswered.
 */
interface Receiver { base: string; most: Map<string, number>; ids: Map<string, number[]>; close(): Promise<void> }

async function startRawReceiver(): Promise<Receiver> {
  const most = new Map<string, number>();
  const ids = new Map<string, number[]>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    let waiting = 0;
    let answering = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffer.subarray(0, headEnd).toString('latin1');
        const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
        if (buffer.length < headEnd + 4 + length) return;
        const body = buffer.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
        buffer = buffer.subarray(headEnd + 4 + length);
        const path = head.split(' ')[1]!;
        ids.set(path, [...(ids.get(path) ?? []), (JSON.parse(body) as { id: number }).id]);
        waiting++;
        most.set(path, Math.max(most.get(path) ?? 0, waiting));
        answering = answering.then(() => new Promise<void>((resolve) => setTimeout(() => {
          waiting--;
          socket.write('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n');
          resolve();
        }, 20)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    most,
    ids,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('ordered: false pipelines requests to the endpoint; the default keeps one at a time, in order', { timeout: 60_000 }, async () => {
  const receiver = await startRawReceiver();
  const { base, most, ids } = receiver;
  const store = await createTestStore();
  const app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_ROLES: 'api' }, { store });
  try {
    for (const [path, ordered] of [['/ordered', undefined], ['/unordered', false]] as const) {
      const response = await app.api('/webhooks', { method: 'POST', json: { url: `${base}${path}`, eventTypes: ['QUEUED'], ...(ordered === undefined ? {} : { ordered }) } });
      assert.equal(response.status, 201, await response.clone().text());
      assert.equal(((await response.json()) as { data: { ordered: boolean } }).data.ordered, ordered ?? true);
    }
    const messages = Array.from({ length: 40 }, (_, index) => ({ ...SEED_REQUEST, callbacks: [], to: `reader${index}@example.com` }));
    assert.equal((await app.api('/emails/bulk', { method: 'POST', json: { messages } })).status, 200);
    // Only now a dispatcher: all 40 events are waiting for each endpoint.
    await app.stop();
    const worker = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_ROLES: 'worker' }, { store });
    try {
      await eventually(async () => (ids.get('/ordered')?.length ?? 0) >= 40 && (ids.get('/unordered')?.length ?? 0) >= 40, 30_000, 'every event at both endpoints');
    } finally {
      await worker.stop();
    }
    const ordered = ids.get('/ordered')!;
    assert.deepEqual(ordered, [...ordered].sort((a, b) => a - b), 'in event order');
    assert.equal(most.get('/ordered'), 1, 'one request at a time');
    assert.deepEqual([...ids.get('/unordered')!].sort((a, b) => a - b), [...ordered].sort((a, b) => a - b), 'every event once');
    assert.ok(most.get('/unordered')! > 1, `requests in flight at once: ${most.get('/unordered')}`);
  } finally {
    await store.dispose();
    await receiver.close();
  }
});
