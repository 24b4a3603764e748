import { Client, errors } from 'undici';
import { checkLiteralHost, RefusedTarget, type TargetResolver } from './ssrf.js';

/** What one POST to a receiver came to. */
export interface SendOutcome {
  /** A 2xx answer. */
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** The start of the answer's body (for the account to see why). */
  response: string;
  durationMs: number;
  /** Never worth retrying: the target itself is refused (a private address). */
  refused: boolean;
}

const RESPONSE_EXCERPT = 1024;
const USER_AGENT = 'Mailroom-Webhooks/1';
/**
 * Requests written ahead on the connection of a webhook created with `ordered: false` before
 * the first is answered (HTTP/1.1 pipelining). An ordered lane has one at a time: a receiver
 * that answers 503 to one event and 2xx to the next (a restart, a flaky instance) would
 * otherwise have the later event before the retried earlier one. Measured with 20,000 signed
 * POSTs to one receiver (a Node HTTP server): one at a time 7,363/s, 4 deep 14,465/s, 8 deep
 * 26,736/s, 16 deep 30,789/s.
 */
export const UNORDERED_PIPELINE_DEPTH = 8;
/** A lane's connection unused this long is closed. */
const IDLE_CLIENT_MS = 60_000;

interface LaneClient {
  client: Client;
  lastUsed: number;
}

/**
 * POSTs signed JSON to webhook receivers with undici: each stream (an endpoint's lane) has one
 * keep-alive connection of its own, so a slow endpoint holds up no other lane, and a lane's
 * requests go out in order (`depth` at a time, pipelined when more than one). One connection per lane, not a
 * pool: two connections would let the receiver see a lane's events out of order.
 *
 * Every new connection is resolved through the SSRF check (ssrf.ts), an answer is awaited at
 * most timeoutMs, redirects are not followed (a 3xx is a failure), and only the first kilobyte
 * of an answer is kept. undici rather than node:http: it costs less CPU per request (measured,
 * 20,000 signed POSTs one at a time to one receiver: node:http 5,531/s, undici 7,363/s) and can
 * pipeline, which node:http cannot.
 */
export class WebhookSender {
  private readonly clients = new Map<string, LaneClient>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly resolver: TargetResolver, private readonly allowPrivate: boolean, private readonly timeoutMs = 10_000) {
    this.sweeper = setInterval(() => this.closeIdle(), IDLE_CLIENT_MS);
    this.sweeper.unref();
  }

  /**
   * `stream` names the sequence the request belongs to (a lane): requests of one stream share a
   * connection, on which up to `depth` are written ahead.
   */
  async post(target: string, body: string, headers: Record<string, string>, stream = '', depth = 1): Promise<SendOutcome> {
    const started = performance.now();
    const done = (outcome: Omit<SendOutcome, 'durationMs'>): SendOutcome => ({ ...outcome, durationMs: Math.round(performance.now() - started) });
    let url: URL;
    try {
      url = new URL(target);
      checkLiteralHost(url, this.allowPrivate);
    } catch (error) {
      return done({ ok: false, statusCode: null, error: (error as Error).message, response: '', refused: error instanceof RefusedTarget });
    }
    const client = this.clientFor(stream, url.origin, depth);
    try {
      const response = await client.request({
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        // Receivers deduplicate on webhook-id: a request undici must write again after a lost
        // connection is safe, and only such requests may be pipelined.
        idempotent: true,
        // undici holds later requests back until this one's headers arrive unless told the
        // answer comes quickly; a webhook receiver answers at once (or fails the time-out).
        blocking: false,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body,
      });
      const chunks: Buffer[] = [];
      let kept = 0;
      for await (const chunk of response.body) {
        const bytes = chunk as Buffer;
        if (kept < RESPONSE_EXCERPT) {
          chunks.push(bytes);
          kept += bytes.length;
        }
      }
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      const text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT).toString('utf8');
      return done({ ok, statusCode: response.statusCode, error: ok ? null : `the receiver answered ${response.statusCode}`, response: text, refused: false });
    } catch (error) {
      const cause = error as NodeJS.ErrnoException;
      if (cause.code === 'EREFUSEDTARGET') return done({ ok: false, statusCode: null, error: `refused: ${cause.message}`, response: '', refused: true });
      const timedOut = error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError;
      return done({ ok: false, statusCode: null, error: timedOut ? `no answer within ${this.timeoutMs / 1000} s` : cause.code ? `${cause.code}: ${cause.message}` : cause.message, response: '', refused: false });
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const { client } of this.clients.values()) void client.destroy().catch(() => {});
    this.clients.clear();
  }

  private clientFor(stream: string, origin: string, depth: number): Client {
    const key = `${stream}\n${origin}\n${depth}`;
    let entry = this.clients.get(key);
    if (!entry || entry.client.destroyed || entry.client.closed) {
      const client = new Client(origin, {
        pipelining: depth,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        connect: { lookup: this.resolver.lookupFunction() },
      });
      entry = { client, lastUsed: 0 };
      this.clients.set(key, entry);
    }
    entry.lastUsed = Date.now();
    return entry.client;
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [key, entry] of this.clients) {
      if (now - entry.lastUsed < IDLE_CLIENT_MS) continue;
      this.clients.delete(key);
      void entry.client.close().catch(() => {});
    }
  }
}
