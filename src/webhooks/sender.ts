import http from 'node:http';
import https from 'node:https';
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
 * POSTs signed JSON to webhook receivers with Node's http client: connections kept alive and
 * reused per origin, every new connection resolved through the SSRF check (ssrf.ts), a time-out
 * on the whole exchange, redirects not followed (a 3xx is a failure), and only the first
 * kilobyte of an answer kept.
 */
export class WebhookSender {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly resolver: TargetResolver, private readonly allowPrivate: boolean, private readonly timeoutMs = 10_000) {
    const lookup = resolver.lookupFunction();
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8, lookup });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 8, lookup });
  }

  post(target: string, body: string, headers: Record<string, string>): Promise<SendOutcome> {
    const started = performance.now();
    const done = (outcome: Omit<SendOutcome, 'durationMs'>): SendOutcome => ({ ...outcome, durationMs: Math.round(performance.now() - started) });
    let url: URL;
    try {
      url = new URL(target);
      checkLiteralHost(url, this.allowPrivate);
    } catch (error) {
      return Promise.resolve(done({ ok: false, statusCode: null, error: (error as Error).message, response: '', refused: error instanceof RefusedTarget }));
    }
    const secure = url.protocol === 'https:';
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: Omit<SendOutcome, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(outcome));
      };
      const request = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': USER_AGENT },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on('data', (chunk: Buffer) => {
            if (kept < RESPONSE_EXCERPT) {
              chunks.push(chunk);
              kept += chunk.length;
            }
          });
          response.on('end', () => {
            const statusCode = response.statusCode ?? 0;
            const ok = statusCode >= 200 && statusCode < 300;
            const text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT).toString('utf8');
            finish({ ok, statusCode, error: ok ? null : `the receiver answered ${statusCode}`, response: text, refused: false });
          });
          response.on('error', (error) => finish({ ok: false, statusCode: response.statusCode ?? null, error: error.message, response: '', refused: false }));
        },
      );
      const timer = setTimeout(() => {
        request.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      request.on('error', (error: NodeJS.ErrnoException) => {
        const refused = error.code === 'EREFUSEDTARGET';
        finish({ ok: false, statusCode: null, error: refused ? `refused: ${error.message}` : error.message, response: '', refused });
      });
      request.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
