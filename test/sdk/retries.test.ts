import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ConnectionError, Mailroom, RateLimitError, ServerError } from '../../packages/sdk/src/index.js';
import { setRateLimits } from '../../src/sending/policy/accountPolicy.js';
import { otherAccountKey, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf } from '../helpers/database.js';

/**
 * Retries against a real Mailroom: a real 429 from an account's rate limit, and 5xx answers and
 * dropped connections from a small proxy in front of it (Mailroom has no switch to fail on demand).
 */

/** Real time, unless frozen: the rate limit's window then stays put until the test moves it (no race with the wall clock's seconds). */
const clock = {
  frozenAt: null as number | null,
  now: () => new Date(clock.frozenAt ?? Date.now()),
};

let app: TestApp;
let limitedKey: string;
before(async () => {
  app = await startTestApp({ MAILROOM_TRANSPORT: 'sandbox' }, { clock });
  limitedKey = await otherAccountKey(app, 'sdk-limited');
  await setRateLimits(app.mailroom.db, 'sdk-limited', 1, 0);
});
after(() => app.stop());

interface Attempt {
  status: number;
  at: number;
  idempotencyKey: string | null;
  retryAfter: string | null;
}

/** A fetch that notes each attempt (the real fetch does the work): what the tests assert on. */
function recordingFetch(attempts: Attempt[], onAnswer: (status: number) => void = () => {}): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const headers = new Headers(init?.headers);
    attempts.push({ status: response.status, at: Date.now(), idempotencyKey: headers.get('idempotency-key'), retryAfter: response.headers.get('retry-after') });
    onAnswer(response.status);
    return response;
  };
}

const storedWith = (externalId: string) => countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages WHERE external_id = $1', [externalId]);

test('a 429 is retried after its Retry-After, with the same Idempotency-Key: one message stored', { timeout: 30_000 }, async () => {
  const attempts: Attempt[] = [];
  // Mailroom's clock stands still in one second until the SDK is refused; then it moves on a second, as the wait would have.
  const moveOnWhenRefused = (status: number) => {
    if (status === 429 && clock.frozenAt !== null) clock.frozenAt += 1000;
  };
  const mailroom = new Mailroom({ apiKey: limitedKey, baseUrl: app.url, fetch: recordingFetch(attempts, moveOnWhenRefused), maxRetries: 3 });
  const fill = () => app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, externalId: 'sdk-filler' }, key: limitedKey });
  clock.frozenAt = Date.now();
  let refusedFiller = false;
  for (let tries = 0; tries < 3 && !refusedFiller; tries++) refusedFiller = (await fill()).status === 429;
  assert.ok(refusedFiller, 'the limit of one message a second refuses the filler');

  const sent = await mailroom.emails.send({ ...SEED_REQUEST, externalId: 'sdk-limited-send' });
  assert.ok(attempts.length >= 2, `retried: ${JSON.stringify(attempts)}`);
  assert.equal(attempts[0]!.status, 429, 'the first attempt was refused by the rate limit');
  assert.equal(attempts.at(-1)!.status, 200, 'the last succeeded');
  const waited = attempts[1]!.at - attempts[0]!.at;
  assert.ok(waited >= Number(attempts[0]!.retryAfter) * 1000 - 50, `waited ${waited} ms for Retry-After: ${attempts[0]!.retryAfter}`);
  const keys = new Set(attempts.map((attempt) => attempt.idempotencyKey));
  assert.equal(keys.size, 1, 'one Idempotency-Key for every attempt');
  assert.match([...keys][0] ?? '', /^[0-9a-f-]{36}$/, 'a generated UUID');
  clock.frozenAt = null;
  assert.equal(await storedWith('sdk-limited-send'), 1, 'one message stored');
  assert.match(sent.data.id, /\S/);
});

test('a Retry-After longer than the client waits is thrown at once as a RateLimitError', async () => {
  const dayKey = await otherAccountKey(app, 'sdk-day-limited');
  await setRateLimits(app.mailroom.db, 'sdk-day-limited', 0, 1);
  clock.frozenAt = new Date().setUTCHours(12, 0, 0, 0); // noon: the day's window cannot turn during the test
  const attempts: Attempt[] = [];
  const mailroom = new Mailroom({ apiKey: dayKey, baseUrl: app.url, fetch: recordingFetch(attempts), maxRetryDelayMs: 1_000 });
  await mailroom.emails.send({ ...SEED_REQUEST, externalId: 'sdk-day-1' });
  const started = Date.now();
  const error = await mailroom.emails.send({ ...SEED_REQUEST, externalId: 'sdk-day-2' }).catch((caught: unknown) => caught);
  assert.ok(error instanceof RateLimitError, `a RateLimitError, not ${String(error)}`);
  assert.equal(error.code, 'RATE_LIMITED');
  assert.ok((error.retryAfterSeconds ?? 0) > 1, `Retry-After runs to midnight: ${error.retryAfterSeconds}`);
  assert.ok(Date.now() - started < 2_000, 'not waited for');
  clock.frozenAt = null;
  assert.equal(attempts.length, 2, 'the first send and one refused attempt');
});

/** A proxy to Mailroom that answers `failures` requests itself first (a 503, or a dropped connection), then passes every request through. */
async function flakyProxy(failures: number, failure: 'status' | 'drop') {
  let failed = 0;
  const seen: { idempotencyKey: string | undefined }[] = [];
  const server = http.createServer((request, response) => {
    seen.push({ idempotencyKey: request.headers['idempotency-key'] as string | undefined });
    if (failed < failures) {
      failed++;
      request.resume();
      if (failure === 'drop') return request.socket.destroy();
      response.writeHead(503, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ meta: { transactionId: 'proxy' }, error: { code: 'SERVICE_UNAVAILABLE', message: 'try again', details: [] } }));
    }
    const upstream = http.request(app.url + request.url, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

test('a 5xx is retried with backoff and the same Idempotency-Key: one message stored', async () => {
  const proxy = await flakyProxy(2, 'status');
  try {
    const mailroom = new Mailroom({ apiKey: app.key, baseUrl: proxy.url, initialRetryDelayMs: 50 });
    const sent = await mailroom.emails.send({ ...SEED_REQUEST, externalId: 'sdk-5xx' });
    assert.equal(proxy.seen.length, 3, 'two failures, then through');
    assert.equal(new Set(proxy.seen.map((request) => request.idempotencyKey)).size, 1, 'the same key each time');
    assert.ok(proxy.seen[0]!.idempotencyKey, 'a key was sent');
    assert.equal(await storedWith('sdk-5xx'), 1, 'one message stored');
    assert.match(sent.data.id, /\S/);
  } finally {
    await proxy.close();
  }
});

test('a user-supplied Idempotency-Key is sent as given, and a repeat with it stores nothing more', async () => {
  const proxy = await flakyProxy(0, 'status');
  try {
    const mailroom = new Mailroom({ apiKey: app.key, baseUrl: proxy.url });
    const first = await mailroom.emails.send({ ...SEED_REQUEST, externalId: 'sdk-own-key' }, undefined, { idempotencyKey: 'order-4711' });
    const again = await mailroom.emails.send({ ...SEED_REQUEST, externalId: 'sdk-own-key' }, undefined, { idempotencyKey: 'order-4711' });
    assert.deepEqual(proxy.seen.map((request) => request.idempotencyKey), ['order-4711', 'order-4711']);
    assert.equal(again.data.id, first.data.id, 'the stored answer replayed');
    assert.equal(await storedWith('sdk-own-key'), 1, 'one message stored');
  } finally {
    await proxy.close();
  }
});

test('a dropped connection is retried for a GET; a POST without a key that got a 5xx is not repeated', async () => {
  const dropping = await flakyProxy(1, 'drop');
  try {
    const mailroom = new Mailroom({ apiKey: app.key, baseUrl: dropping.url, initialRetryDelayMs: 20 });
    await mailroom.emails.list({ limit: 1 });
    assert.equal(dropping.seen.length, 2, 'the dropped request was repeated');
  } finally {
    await dropping.close();
  }
  const failing = await flakyProxy(5, 'status');
  try {
    const mailroom = new Mailroom({ apiKey: app.key, baseUrl: failing.url, initialRetryDelayMs: 20 });
    const error = await mailroom.domains.create({ domain: 'once.example' }).catch((caught: unknown) => caught);
    assert.ok(error instanceof ServerError, `a ServerError, not ${String(error)}`);
    assert.equal(error.status, 503);
    assert.equal(failing.seen.length, 1, 'not repeated: it could create the domain twice');
  } finally {
    await failing.close();
  }
  const nobody = new Mailroom({ apiKey: app.key, baseUrl: 'http://127.0.0.1:9', maxRetries: 1, initialRetryDelayMs: 10 });
  const refused = await nobody.emails.list().catch((caught: unknown) => caught);
  assert.ok(refused instanceof ConnectionError, `a ConnectionError, not ${String(refused)}`);
  assert.equal(refused.status, 0);
});
