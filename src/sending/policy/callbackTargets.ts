import { PolicyRefusal, validationError, type ErrorDetail } from '../../shared/errors.js';
import { LoadingCache } from '../../shared/loadingCache.js';
import { ALLOW_PRIVATE_HINT, canonicalHost, urlProblem, type TargetResolver, type TargetVerdict } from '../../webhooks/ssrf.js';
import { callbackUrls } from '../store.js';

export interface CallbackTargetOptions {
  /** How long a host's verdict (public, or a non-public address) is kept. */
  ttlMs: number;
  /** How long a failed look-up is kept, so that a burst does not wait for it once per message. */
  failureTtlMs: number;
  /** How long a message waits for a look-up before it is accepted without its verdict. */
  waitMs: number;
}

export const DEFAULT_CALLBACK_TARGET_OPTIONS: CallbackTargetOptions = { ttlMs: 30_000, failureTtlMs: 5_000, waitMs: 2_000 };

interface Refused {
  field: string;
  problem: string;
  /** Refused for where it points (a policy refusal), not for its syntax. */
  target: boolean;
}

const UNRESOLVED_IN_TIME: TargetVerdict = { kind: 'unresolved', reason: 'the look-up took too long', noSuchHost: false };

/**
 * A message's callbacks are held to the webhooks' SSRF rule when it is submitted (HTTP, bulk and
 * SMTP alike): an http(s) callback whose host is a non-public address, or a name that resolves to
 * one, refuses the message, unless MAILROOM_ALLOW_PRIVATE_CALLBACKS=1.
 *
 * This is on the send path, so a host's verdict is cached for a while (a bulk of 1,000 messages
 * with one callback host costs one look-up) and a look-up is waited for at most `waitMs`. A name
 * that cannot be looked up (a DNS failure, a time-out) or that has no address (NXDOMAIN) does not
 * refuse the message: the mail matters more than its status callbacks, and nothing private was
 * found. It costs no safety, since the dispatcher checks the addresses again on every connection,
 * after the look-up that connection uses; a name that by then resolves to a private address is
 * never called. Strings that are not http(s) URLs are not called at all (the pipeline warns).
 */
/** What a callback string says before any look-up: not a URL Mailroom calls, a syntax problem, or the host to check. */
type Parsed = { kind: 'ignored' } | { kind: 'problem'; problem: string } | { kind: 'host'; host: string };

/** Parsed callback strings kept (a sender's callbacks repeat on every message; parsing a URL costs microseconds). */
const PARSED_ENTRIES = 10_000;

export class CallbackTargetCheck {
  private readonly verdicts: LoadingCache<string, TargetVerdict>;
  private readonly parsed = new Map<string, Parsed>();

  constructor(
    private readonly resolver: TargetResolver,
    private readonly allowPrivate: boolean,
    private readonly options: CallbackTargetOptions = DEFAULT_CALLBACK_TARGET_OPTIONS,
  ) {
    this.verdicts = new LoadingCache({ ttlMs: (verdict) => (verdict.kind === 'unresolved' ? options.failureTtlMs : options.ttlMs), maxEntries: 10_000 });
  }

  /**
   * Throws a VALIDATION_ERROR naming each callback that is refused: a malformed URL, or (as a
   * policy refusal, which SMTP answers 5.7.1) one whose host is not public.
   */
  async check(callbacks: readonly string[], field: (index: number) => string): Promise<void> {
    if (callbacks.length === 0) return;
    const found = await Promise.all(callbacks.map(async (callback, index): Promise<Refused | null> => {
      const parsed = this.parse(callback);
      if (parsed.kind === 'ignored') return null;
      if (parsed.kind === 'problem') return { field: field(index), problem: parsed.problem, target: false };
      if (this.allowPrivate) return null;
      const verdict = await this.verdictOf(parsed.host);
      return verdict.kind === 'refused' ? { field: field(index), problem: `is refused: ${verdict.reason}`, target: true } : null;
    }));
    const refused = found.filter((entry) => entry !== null);
    if (refused.length === 0) return;
    const summary = refused.map((entry) => `${entry.field} ${entry.problem}`).join('; ');
    const details: ErrorDetail[] = refused.map((entry) => ({ field: entry.field, message: entry.target ? `${entry.problem}; ${ALLOW_PRIVATE_HINT}` : entry.problem }));
    if (!refused.some((entry) => entry.target)) throw validationError(details, `${summary}.`);
    throw new PolicyRefusal(400, 'VALIDATION_ERROR', `${summary}. Callbacks may only go to public addresses; an installation whose receivers are on its own network allows private ones with MAILROOM_ALLOW_PRIVATE_CALLBACKS=1.`, details);
  }

  private parse(callback: string): Parsed {
    let parsed = this.parsed.get(callback);
    if (!parsed) {
      const problem = callbackUrls([callback]) ? urlProblem(callback) : null;
      parsed = !callbackUrls([callback]) ? { kind: 'ignored' } : problem ? { kind: 'problem', problem } : { kind: 'host', host: canonicalHost(new URL(callback).hostname) };
      if (this.parsed.size >= PARSED_ENTRIES) this.parsed.clear();
      this.parsed.set(callback, parsed);
    }
    return parsed;
  }

  private verdictOf(host: string): TargetVerdict | Promise<TargetVerdict> {
    // The common case, a host seen in the last 30 s: no promise race and no timer per message.
    const known = this.verdicts.peek(host.toLowerCase());
    if (known) return known;
    const lookUp = this.verdicts.get(host.toLowerCase(), () => this.resolver.verdict(host));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<TargetVerdict>((resolve) => {
      timer = setTimeout(() => resolve(UNRESOLVED_IN_TIME), this.options.waitMs);
      timer.unref();
    });
    return Promise.race([lookUp, deadline]).finally(() => clearTimeout(timer));
  }
}
