import { Agent, errors, request } from 'undici';
import { Semaphore } from '../shared/semaphore.js';
import type { TrackingLinks } from '../tracking/links.js';
import { checkLiteralHost, NoSuchHost, RefusedTarget, urlProblem, type TargetResolver } from '../webhooks/ssrf.js';
import type { FoundLink } from './extract.js';

/** What one link's target answered. */
export interface LinkResult extends FoundLink {
  /**
   * ok: a 2xx at the end of at most MAX_REDIRECTS redirects; broken: a 4xx or 5xx, or too many
   * redirects; unreachable: no answer (no such host, refused connection, time-out); refused: a
   * private address Mailroom does not call; skipped: not an http(s) URL (mailto:, tel:, cid:) or
   * Mailroom's own open or unsubscribe link, which a check would count as the reader's.
   */
  verdict: 'ok' | 'broken' | 'unreachable' | 'refused' | 'skipped';
  statusCode: number | null;
  /** Where the redirects ended, when there were any. */
  finalUrl: string | null;
  redirects: number;
  /** The target behind Mailroom's click-tracking URL, which is what was checked (never the tracking URL: that would count a click). */
  trackedTarget: string | null;
  reason: string | null;
  durationMs: number;
}

const MAX_REDIRECTS = 5;
const USER_AGENT = 'Mailroom-LinkCheck/1';

/**
 * Checks the links of a caught message as a reader's click would find them (the sandbox's link
 * check, issue 18): HEAD, then GET when a server refuses HEAD, redirects followed by hand so that
 * every hop passes the same SSRF rules as webhooks (ssrf.ts: public addresses only, checked on
 * the connection's own DNS look-up, unless MAILROOM_ALLOW_PRIVATE_CALLBACKS). A GET's body is not
 * read. At most `perCheck` requests of one check and `overall` of all checks run at once, so a
 * message of 100 links neither floods one site nor ties up the process.
 */
export class LinkChecker {
  private readonly agent: Agent;
  private readonly overall: Semaphore;
  private readonly allowPrivate: boolean;

  constructor(
    resolver: TargetResolver,
    private readonly links: TrackingLinks | null,
    private readonly options: { timeoutMs: number; perCheck: number; overall: number } = { timeoutMs: 5_000, perCheck: 6, overall: 16 },
  ) {
    this.agent = new Agent({
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      keepAliveTimeout: 1_000,
      connect: { lookup: resolver.lookupFunction() },
    });
    this.allowPrivate = resolver.allowPrivate;
    this.overall = new Semaphore(options.overall);
  }

  async check(found: readonly FoundLink[]): Promise<LinkResult[]> {
    const results: LinkResult[] = new Array<LinkResult>(found.length);
    let next = 0;
    const lane = async () => {
      while (next < found.length) {
        const index = next++;
        const release = await this.overall.acquire();
        try {
          results[index] = await this.checkOne(found[index]!);
        } finally {
          release();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.perCheck, found.length) }, lane));
    return results;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async checkOne(link: FoundLink): Promise<LinkResult> {
    const started = performance.now();
    const result = (fields: Partial<LinkResult> & Pick<LinkResult, 'verdict'>): LinkResult => ({
      ...link, statusCode: null, finalUrl: null, redirects: 0, trackedTarget: null, reason: null, ...fields, durationMs: Math.round(performance.now() - started),
    });
    const own = this.ownLink(link.url);
    if (own?.kind === 'skip') return result({ verdict: 'skipped', reason: own.reason });
    const target = own?.kind === 'click' ? own.target : link.url;
    const trackedTarget = own?.kind === 'click' ? own.target : null;
    if (!/^https?:/i.test(target)) return result({ verdict: 'skipped', trackedTarget, reason: 'not an http or https link' });

    let url = target;
    for (let redirects = 0; ; redirects++) {
      const problem = urlProblem(url);
      if (problem) return result({ verdict: 'broken', trackedTarget, redirects, finalUrl: redirects ? url : null, reason: `the URL ${problem}` });
      let answer: { statusCode: number; location: string | null };
      try {
        checkLiteralHost(new URL(url), this.allowPrivate);
        answer = await this.ask(url);
      } catch (error) {
        const cause = error as NodeJS.ErrnoException;
        const refused = !(error instanceof NoSuchHost) && (error instanceof RefusedTarget || cause.code === 'EREFUSEDTARGET');
        const timedOut = error instanceof errors.HeadersTimeoutError || error instanceof errors.ConnectTimeoutError;
        const reason = timedOut ? `no answer within ${this.options.timeoutMs / 1000} s` : cause.code && !(error instanceof RefusedTarget) ? `${cause.code}: ${cause.message}` : cause.message;
        return result({ verdict: refused ? 'refused' : 'unreachable', trackedTarget, redirects, finalUrl: redirects ? url : null, reason });
      }
      const { statusCode, location } = answer;
      if (statusCode >= 300 && statusCode < 400 && location) {
        if (redirects === MAX_REDIRECTS) return result({ verdict: 'broken', statusCode, trackedTarget, redirects, finalUrl: url, reason: `more than ${MAX_REDIRECTS} redirects` });
        try {
          url = new URL(location, url).href;
        } catch {
          return result({ verdict: 'broken', statusCode, trackedTarget, redirects, finalUrl: url, reason: 'a redirect to an invalid URL' });
        }
        continue;
      }
      const ok = statusCode >= 200 && statusCode < 300;
      return result({ verdict: ok ? 'ok' : 'broken', statusCode, trackedTarget, redirects, finalUrl: redirects ? url : null, reason: ok ? null : `answered ${statusCode}` });
    }
  }

  /** undici's request follows no redirect unless told to. HEAD, and GET when the server does not take HEAD (405, 501, and the many that answer 403 or 404 to HEAD only). */
  private async ask(url: string): Promise<{ statusCode: number; location: string | null }> {
    const head = await this.send(url, 'HEAD');
    if (head.statusCode < 400) return head;
    return this.send(url, 'GET');
  }

  private async send(url: string, method: 'HEAD' | 'GET'): Promise<{ statusCode: number; location: string | null }> {
    const controller = new AbortController();
    const response = await request(url, {
      method,
      dispatcher: this.agent,
      headers: { 'user-agent': USER_AGENT, accept: '*/*' },
      signal: controller.signal,
    });
    // Only the status matters: the body (a whole page, or a large download) is not read.
    controller.abort();
    response.body.on('error', () => {});
    const location = response.headers.location;
    return { statusCode: response.statusCode, location: typeof location === 'string' ? location : null };
  }

  /** Mailroom's own tracking URLs: a click's target is checked instead; opens and unsubscribes are not touched. */
  private ownLink(url: string): { kind: 'click'; target: string } | { kind: 'skip'; reason: string } | null {
    if (!this.links) return null;
    const own = this.links.parse(url);
    if (!own) return null;
    if (own.kind === 'click') return { kind: 'click', target: own.url };
    return { kind: 'skip', reason: own.kind === 'open' ? "Mailroom's open-tracking image: checking it would count an open" : "Mailroom's unsubscribe link: checking it could unsubscribe the recipient" };
  }
}
