import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Requests that go wrong before Mailroom's handlers, sent over raw TCP sockets to a listening
 * server: each is answered in SPEC section 11's JSON with its status where an answer is still
 * possible, and its connection is closed, within the (short, here) time-outs when it stalls.
 */
const REQUEST_TIMEOUT_S = 1;
const HEADERS_TIMEOUT_S = 1;
/** Node checks its header time-outs once a second; the rest is slack for a busy machine. */
const CLOSE_SLACK_MS = 2_500;

let app: TestApp;
let port: number;

before(async () => {
  app = await startTestApp({
    MAILROOM_HTTP_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_S),
    MAILROOM_HTTP_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_S),
    MAILROOM_LARGE_BODY_CONCURRENCY: '1',
  });
  port = Number(new URL(app.url).port);
});
after(() => app.stop());

interface Exchange {
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** From the last byte written to the socket's close. */
  closedAfterMs: number;
  /** The socket was closed by the server, before the test gave up on it. */
  closed: boolean;
}

/** A part of `exchange` that half-closes the connection (the client sends FIN and still reads). */
const HALF_CLOSE = Symbol('half-close');

/**
 * Writes `parts` (strings, pauses in ms between them, or HALF_CLOSE), then waits until the server
 * closes the connection (at most `waitMs`) and reads what it answered.
 */
async function exchange(parts: (string | number | typeof HALF_CLOSE)[], waitMs = 8_000): Promise<Exchange> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined); // a reset after the answer is a close too
  // The server's FIN (or a reset) is its close: this side stays half-open to read the answer.
  const closed = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  let closedEarly = false;
  void closed.then(() => (closedEarly = true));
  for (const part of parts) {
    if (closedEarly) break;
    if (part === HALF_CLOSE) socket.end();
    else if (typeof part === 'number') await new Promise((resolve) => setTimeout(resolve, part));
    else socket.write(part);
  }
  const lastWrite = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([closed.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), waitMs)))]);
  clearTimeout(timer);
  const closedAfterMs = Date.now() - lastWrite;
  socket.destroy();
  const text = Buffer.concat(chunks).toString('utf8');
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1];
  return { status: status ? Number(status) : null, headers, body: rest.join('\r\n\r\n'), closedAfterMs, closed: !gaveUp };
}

/** The answer is SPEC section 11 JSON with this status and code, and the connection is closed in time. */
function assertAnswered(result: Exchange, status: number, code: string, closeWithinMs: number): void {
  assert.equal(result.status, status, `status; got ${JSON.stringify(result).slice(0, 400)}`);
  assert.match(result.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(result.body) as { meta: { timestamp: number; transactionId: string }; error: { code: string; message: string; details: unknown[] } };
  assert.deepEqual(Object.keys(body).sort(), ['error', 'meta']);
  assert.equal(typeof body.meta.timestamp, 'number');
  assert.ok(Math.abs(body.meta.timestamp - Date.now()) < 60_000);
  assert.ok(typeof body.meta.transactionId === 'string' && body.meta.transactionId.length > 0);
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 0);
  assert.deepEqual(body.error.details, []);
  assert.doesNotMatch(result.body, /FST_|HPE_|node:|\.js:\d/, 'no framework or stack detail');
  assert.ok(result.closed, 'the server closed the connection');
  assert.ok(result.closedAfterMs <= closeWithinMs, `closed ${result.closedAfterMs} ms after the last write (at most ${closeWithinMs})`);
}

const auth = `Authorization: Bearer ${'mr_test_bootstrap_key_0123456789abcdef'}\r\n`;
const QUICK_MS = 1_000;
const REQUEST_CLOSE_MS = REQUEST_TIMEOUT_S * 1000 + CLOSE_SLACK_MS;
const HEADERS_CLOSE_MS = HEADERS_TIMEOUT_S * 1000 + CLOSE_SLACK_MS;

test('a malformed request line: 400 BAD_REQUEST', async () => {
  assertAnswered(await exchange(['GET / HTTP/1.1 and more\r\nHost: x\r\n\r\n']), 400, 'BAD_REQUEST', QUICK_MS);
  assertAnswered(await exchange(['G@T / HTTP/1.1\r\nHost: x\r\n\r\n']), 400, 'BAD_REQUEST', QUICK_MS);
});

test('a malformed header line: 400 BAD_REQUEST', async () => {
  assertAnswered(await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n']), 400, 'BAD_REQUEST', QUICK_MS);
});

test('an HTTP/1.1 request without Host: 400 BAD_REQUEST (Node\'s own answer has no body)', async () => {
  assertAnswered(await exchange(['GET /healthz HTTP/1.1\r\n\r\n']), 400, 'BAD_REQUEST', QUICK_MS);
  assertAnswered(await exchange([`POST /emails HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`]), 400, 'BAD_REQUEST', QUICK_MS);
  assertAnswered(await exchange(['GET /%zz HTTP/1.1\r\n\r\n']), 400, 'INVALID_URL', QUICK_MS);
});

test('what Node answers on its own is JSON too: an unsupported Expect 417, CONNECT 405', async () => {
  assertAnswered(await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n']), 417, 'EXPECTATION_FAILED', QUICK_MS);
  assertAnswered(await exchange(['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n']), 405, 'METHOD_NOT_ALLOWED', QUICK_MS);
});

test('a URL whose percent-encoding does not decode: 400 INVALID_URL', async () => {
  assertAnswered(await exchange(['GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n']), 400, 'INVALID_URL', QUICK_MS);
  assertAnswered(await exchange([`GET /emails/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${auth}\r\n`]), 400, 'INVALID_URL', QUICK_MS);
});

test('a URL over 8 KiB: 414 URI_TOO_LONG, under Node\'s header limit and over it', async () => {
  assertAnswered(await exchange([`GET /emails?to=${'a'.repeat(9_000)} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`]), 414, 'URI_TOO_LONG', QUICK_MS);
  assertAnswered(await exchange([`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]), 414, 'URI_TOO_LONG', QUICK_MS);
});

test('headers too large: 431 HEADERS_TOO_LARGE', async () => {
  const headers = Array.from({ length: 40 }, (_, index) => `X-Filler-${index}: ${'v'.repeat(1_000)}\r\n`).join('');
  assertAnswered(await exchange([`GET /healthz HTTP/1.1\r\nHost: x\r\n${headers}\r\n`]), 431, 'HEADERS_TOO_LARGE', QUICK_MS);
});

test('slowloris: headers one byte at a time are cut off at the headers time-out, 408', async () => {
  const request = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(200)}\r\n\r\n`;
  const started = Date.now();
  const parts: (string | number)[] = [];
  for (const character of request) parts.push(character, 100);
  const result = await exchange(parts);
  assertAnswered(result, 408, 'REQUEST_TIMEOUT', HEADERS_CLOSE_MS);
  assert.ok(Date.now() - started <= HEADERS_CLOSE_MS + 500, `cut off ${Date.now() - started} ms after the first byte`);
});

test('a chunked body whose chunk is longer than its data: 408 at the request time-out, connection closed', async () => {
  const head = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
  assertAnswered(await exchange([head, 'ff\r\n{"to":"john@example.com"}\r\n']), 408, 'REQUEST_TIMEOUT', REQUEST_CLOSE_MS);
});

test('a chunked body that never ends: 408 at the request time-out, connection closed', async () => {
  const head = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
  assertAnswered(await exchange([head, '1\r\n{\r\n', 300, '1\r\n \r\n']), 408, 'REQUEST_TIMEOUT', REQUEST_CLOSE_MS);
});

test('a body that stops half-way short of its Content-Length: 408 at the request time-out, connection closed', async () => {
  const body = JSON.stringify({ to: 'john@example.com', from: 'promo@elipackage.com', subject: 'half', text: 'x'.repeat(500) });
  const head = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  assertAnswered(await exchange([head, body.slice(0, body.length / 2)]), 408, 'REQUEST_TIMEOUT', REQUEST_CLOSE_MS);
});

test('a body cut short by the client closing its side: 400 BAD_REQUEST at once', async () => {
  const body = JSON.stringify({ to: 'john@example.com', from: 'promo@elipackage.com', subject: 'cut', text: 'x'.repeat(500) });
  const head = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  assertAnswered(await exchange([head, body.slice(0, 100), HALF_CLOSE]), 400, 'BAD_REQUEST', QUICK_MS);
});

test('a body that stops half-way after a refusal, or on a route that reads none: answered at once, then the connection is closed', async () => {
  // Refused at authentication, before any byte of the body is read.
  const refused = 'POST /emails HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
  assertAnswered(await exchange([refused, '{"to":']), 401, 'UNAUTHORIZED', QUICK_MS);
  // A route that reads no body answers; the rest of the body would have to arrive before a next request.
  const unread = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n', 'abc']);
  assert.equal(unread.status, 200);
  assert.equal(unread.headers.connection, 'close');
  assert.ok(unread.closed && unread.closedAfterMs <= QUICK_MS, `closed after ${unread.closedAfterMs} ms`);
  // An unknown route reads the body first (like any), and times out like any.
  const unknown = `POST /no/such/route HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
  assertAnswered(await exchange([unknown, '{"to":']), 408, 'REQUEST_TIMEOUT', REQUEST_CLOSE_MS);
});

test('a malformed chunk size: 400 BAD_REQUEST', async () => {
  const head = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
  assertAnswered(await exchange([head, 'zz\r\n{}\r\n0\r\n\r\n']), 400, 'BAD_REQUEST', QUICK_MS);
});

test('a Content-Length over the body limit: 413 at once, without reading the body, connection closed', async () => {
  const head = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`;
  assertAnswered(await exchange([head, '{"to":']), 413, 'PAYLOAD_TOO_LARGE', QUICK_MS);
});

test('a connection that sends nothing is closed at the headers time-out', async () => {
  const result = await exchange([]);
  assert.ok(result.closed, 'closed by the server');
  assert.ok(result.closedAfterMs <= HEADERS_CLOSE_MS, `closed after ${result.closedAfterMs} ms`);
});

test('control: well-formed requests on one keep-alive connection are answered and the connection stays open', async () => {
  const body = JSON.stringify({ to: 'john@example.com', from: 'promo@elipackage.com', subject: 'ok', text: 'hello' });
  const post = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const result = await exchange([post, body.slice(0, 10), 200, body.slice(10)], 700);
  assert.equal(result.status, 200, result.body);
  assert.equal(result.closed, false, 'a keep-alive connection is not closed after a good request');
});

test('a large body waits for its turn longer than the request time-out and is still read and answered; the stalled one holding the turn gets 408', async () => {
  const stalledHead = `POST /emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`;
  const stalled = exchange([stalledHead, '{"to":']);
  await new Promise((resolve) => setTimeout(resolve, 200)); // the stalled body has the one turn
  const started = Date.now();
  const large = await app.api('/emails', { method: 'POST', json: { to: 'john@example.com', from: 'promo@elipackage.com', subject: 'large', text: 'x'.repeat(1_500_000) } });
  const waited = Date.now() - started;
  assert.equal(large.status, 200, await large.clone().text());
  assert.ok(waited >= REQUEST_TIMEOUT_S * 1000 - 300, `answered after ${waited} ms: it waited for the stalled body's turn`);
  assertAnswered(await stalled, 408, 'REQUEST_TIMEOUT', REQUEST_CLOSE_MS);
});
