import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, otherAccountKey, SEED_REQUEST, startTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';

/**
 * GET /events/stream read by a real HTTP client as a browser's EventSource would: the account's
 * events as they happen, filtered by type, resumed with Last-Event-ID, never another account's,
 * and ended cleanly when the server stops.
 */
let app: TestApp;
let otherKey: string;

before(async () => {
  app = await startTestApp();
  otherKey = await otherAccountKey(app, 'other');
});
after(async () => {
  await app.stop();
});

interface StreamedEvent { id: string; event: string; data: { id: number; type: string; messageId: string; to: string; timestamp: string; details: Record<string, unknown> } }

/** An SSE client: parses the stream into events as they arrive. */
async function openStream(query = '', headers: Record<string, string> = {}, key = TEST_KEY) {
  const controller = new AbortController();
  const response = await fetch(`${app.url}/events/stream${query}`, { headers: { authorization: `Bearer ${key}`, ...headers }, signal: controller.signal });
  const events: StreamedEvent[] = [];
  let buffer = '';
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || !line.includes(':')) continue;
            fields.set(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart());
          }
          if (fields.has('data')) events.push({ id: fields.get('id')!, event: fields.get('event')!, data: JSON.parse(fields.get('data')!) as StreamedEvent['data'] });
        }
      }
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  return { response, events, ended: () => ended, close: async () => { controller.abort(); await reading; } };
}

async function send(to: string, key = TEST_KEY): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', key, json: { ...SEED_REQUEST, callbacks: [], to } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

test("the stream carries the account's new events as they happen, in order, and only its own", async () => {
  await send('before-the-stream@example.com');
  const stream = await openStream();
  try {
    assert.equal(stream.response.status, 200);
    assert.match(stream.response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const id = await send('streamed@example.com');
    await send('not-yours@example.com', otherKey);
    const mine = await eventually(async () => {
      const got = stream.events.filter((event) => event.data.messageId === id);
      return got.some((event) => event.event === 'DELIVERED') ? got : undefined;
    }, 15_000, 'QUEUED and DELIVERED on the stream');
    assert.deepEqual(mine.map((event) => event.event), ['QUEUED', 'DELIVERED']);
    assert.equal(mine[0]!.id, String(mine[0]!.data.id));
    assert.equal(mine[0]!.data.to, 'streamed@example.com');
    assert.ok(Number(mine[1]!.id) > Number(mine[0]!.id));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const streamed = (to: string) => stream.events.filter((event) => event.data.to === to).map((event) => event.event);
    // The earlier message's QUEUED was logged before the stream opened; its DELIVERED may come after.
    assert.equal(streamed('before-the-stream@example.com').includes('QUEUED'), false, 'a new stream starts at the end of the log');
    assert.deepEqual(streamed('not-yours@example.com'), [], "another account's events never appear");
  } finally {
    await stream.close();
  }
});

test('a type filter, and a reconnection with Last-Event-ID that continues where it stopped', async () => {
  const delivered = await openStream('?types=DELIVERED');
  let firstId: string;
  let id: string;
  try {
    id = await send('filtered@example.com');
    const got = await eventually(async () => delivered.events.find((event) => event.data.messageId === id), 15_000, 'DELIVERED');
    assert.deepEqual(delivered.events.filter((event) => event.data.messageId === id).map((event) => event.event), ['DELIVERED']);
    firstId = got.id;
  } finally {
    await delivered.close();
  }
  const [queued] = ((await (await app.api(`/emails/${id}/events`)).json()) as { data: { id: number; type: string }[] }).data;
  const resumed = await openStream('', { 'last-event-id': String(queued!.id) });
  try {
    const again = await eventually(async () => resumed.events.find((event) => event.data.messageId === id), 10_000, 'the events after Last-Event-ID');
    assert.equal(again.id, firstId, 'the event after the given id, and not the given one');
  } finally {
    await resumed.close();
  }
  assert.equal((await app.api('/events/stream?types=SHIPPED')).status, 400);
  assert.equal((await fetch(`${app.url}/events/stream`)).status, 401);
});

test('stopping the server ends open streams instead of waiting for them', async () => {
  const own = await startTestApp({ MAILROOM_ROLES: 'api' });
  const response = await fetch(`${own.url}/events/stream`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
  assert.equal(response.status, 200);
  const body = response.body!.getReader();
  const started = Date.now();
  await own.stop();
  for (;;) if ((await body.read()).done) break;
  assert.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`);
});
