/**
 * The webhook receiver of the webhooks benchmark, as a child process: a bare Node HTTP server
 * that answers 204 to every POST, checks every signature (POST /secret: one secret, or a JSON
 * object of secrets by path), and keeps per request the `webhook-id` (duplicates),
 * the receipt time and the event's own timestamp (lag). GET /stats answers the tallies.
 *
 * `node --import tsx bench/lib/webhookSink.ts PORT`
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

/**
 * The standardwebhooks package hashes in JavaScript (about as costly as the whole request on
 * this machine): it checks every 100th request, and node:crypto checks every one, so that the
 * receiver is not what is measured.
 */
function fastVerify(secret: string, headers: http.IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = `v1,${createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64')}`;
  return String(headers['webhook-signature'] ?? '').split(' ').includes(expected);
}

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: webhookSink.ts PORT');
  process.exit(2);
}

/** Secrets by request path (one webhook per path), or one for every path. */
let verifiers = new Map<string, { secret: string; webhook: Webhook }>();
let anyPath: { secret: string; webhook: Webhook } | null = null;
let received = 0;
let badSignatures = 0;
let firstAt = 0;
let lastAt = 0;
const ids = new Set<string>();
let duplicates = 0;
let lags: number[] = [];
/** Receipt order of event ids, to check the order per endpoint (path). */
const outOfOrder = new Map<string, { last: number; count: number }>();

function stats() {
  const sorted = [...lags].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : null);
  return {
    received, badSignatures, duplicates, firstAt, lastAt,
    outOfOrder: [...outOfOrder.values()].reduce((sum, entry) => sum + entry.count, 0),
    lag: { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? null },
  };
}

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.method === 'GET' && request.url === '/stats') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(JSON.stringify(stats()));
    }
    const body = Buffer.concat(chunks).toString('utf8');
    if (request.url === '/secret') {
      verifiers = new Map();
      anyPath = null;
      if (body.startsWith('{')) for (const [path, secret] of Object.entries(JSON.parse(body) as Record<string, string>)) verifiers.set(path, { secret, webhook: new Webhook(secret) });
      else anyPath = { secret: body, webhook: new Webhook(body) };
      received = badSignatures = duplicates = firstAt = lastAt = 0;
      ids.clear();
      lags = [];
      outOfOrder.clear();
      response.writeHead(204);
      return response.end();
    }
    const now = Date.now();
    received++;
    if (!firstAt) firstAt = now;
    lastAt = now;
    let payload: { id: number; timestamp: string } | null = null;
    try {
      const verifier = verifiers.get(request.url ?? '') ?? anyPath;
      if (!verifier) throw new Error('no secret for this path');
      if (received % 100 === 1) verifier.webhook.verify(body, request.headers as Record<string, string>);
      else if (!fastVerify(verifier.secret, request.headers, body)) throw new Error('bad signature');
      payload = JSON.parse(body) as { id: number; timestamp: string };
    } catch {
      badSignatures++;
    }
    // Per endpoint: several webhooks get the same event, under the same webhook-id.
    const id = `${request.url} ${String(request.headers['webhook-id'])}`;
    if (ids.has(id)) duplicates++;
    ids.add(id);
    if (payload) {
      lags.push(now - Date.parse(payload.timestamp));
      const lane = outOfOrder.get(request.url ?? '') ?? { last: 0, count: 0 };
      if (payload.id < lane.last) lane.count++;
      lane.last = Math.max(lane.last, payload.id);
      outOfOrder.set(request.url ?? '', lane);
    }
    response.writeHead(204);
    response.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log(`webhook sink on ${port}`));
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
