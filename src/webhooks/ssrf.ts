import { lookup as systemLookup, Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { hasHiddenCharacters } from '../shared/characters.js';
import { nonPublicReason } from './publicAddress.js';

/**
 * Webhook and callback URLs come from accounts, and Mailroom POSTs to them from inside the
 * operator's network: without care, an account could make it call a database console on
 * 127.0.0.1 or a cloud metadata service on 169.254.169.254 (server-side request forgery).
 * Only http and https to public unicast addresses are allowed, unless
 * MAILROOM_ALLOW_PRIVATE_CALLBACKS=1 (tests, or receivers on the operator's own network). The
 * address is checked when the URL is given and again on every connection, after the DNS look-up
 * the connection really uses, so a name that later resolves to 127.0.0.1 (DNS rebinding) is
 * refused too. Redirects are never followed.
 */

export class RefusedTarget extends Error {}

/**
 * Appended to a refusal for a non-public address when a URL is given (a webhook, a message's
 * callback), so that whoever runs Mailroom with receivers on its own network learns the switch
 * from the answer rather than from the source.
 */
export const ALLOW_PRIVATE_HINT = 'private addresses need MAILROOM_ALLOW_PRIVATE_CALLBACKS=1';

/** A host that does not exist (NXDOMAIN, no address): refused for webhooks (retrying would not help), unreachable to a link check. */
export class NoSuchHost extends RefusedTarget {}

/** A syntax problem of a URL, or null: http(s), a host, no credentials, no fragment tricks. */
export function urlProblem(text: string): string | null {
  // The URL parser drops TAB and line breaks: the URL stored would not be the one checked.
  if (hasHiddenCharacters(text)) return 'must not contain control or invisible characters';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (!url.hostname) return 'has no host';
  if (url.username || url.password) return 'must not carry a user name or password';
  if (text.length > 2048) return 'is longer than 2,048 characters';
  return null;
}

export { isPublicAddress, nonPublicReason } from './publicAddress.js';

/**
 * The host of a URL as a connection sees it: without the brackets of an IPv6 literal, and an IPv4
 * address in any spelling the URL standard accepts (2130706433, 0x7f.1, 127.1) in dotted
 * decimal. new URL does this already; a host from elsewhere gets the same treatment.
 */
export function canonicalHost(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) return bare;
  try {
    return new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return bare;
  }
}

/** Names that are loopback by definition (RFC 6761 6.3), whatever a resolver says. */
function isLoopbackName(host: string): boolean {
  return /(^|\.)localhost\.?$/i.test(host);
}

/** What a host is as a target: public (with its addresses), refused (a non-public address), or not resolved now. */
export type TargetVerdict =
  | { kind: 'public'; addresses: { address: string; family: 4 | 6 }[] }
  | { kind: 'refused'; reason: string }
  | { kind: 'unresolved'; reason: string; noSuchHost: boolean };

function hostOf(url: URL): string {
  return canonicalHost(url.hostname);
}

/**
 * Resolves host names for outgoing webhook requests: through MAILROOM_DNS_SERVERS when set (as
 * MX look-ups do), otherwise the system's resolver; every address must be public.
 */
export class TargetResolver {
  private readonly resolver: Resolver | null;

  constructor(servers: readonly string[], readonly allowPrivate: boolean, timeoutMs = 5_000) {
    this.resolver = servers.length > 0 ? new Resolver({ timeout: timeoutMs, tries: 2 }) : null;
    if (this.resolver) this.resolver.setServers([...servers]);
  }

  /** The addresses of a host, refused (RefusedTarget) if any is not public. */
  async addresses(host: string): Promise<{ address: string; family: 4 | 6 }[]> {
    const verdict = await this.verdict(host);
    if (verdict.kind === 'public') return verdict.addresses;
    if (verdict.kind === 'refused') throw new RefusedTarget(verdict.reason);
    if (verdict.noSuchHost) throw new NoSuchHost(verdict.reason);
    throw new Error(verdict.reason);
  }

  /**
   * Where a host points, as a verdict rather than an exception: a literal address is judged
   * without a look-up; a name is refused when any of its addresses is not public (a connection
   * may use any of them).
   */
  async verdict(hostText: string): Promise<TargetVerdict> {
    const host = canonicalHost(hostText);
    const literal = isIP(host);
    if (literal) return this.judge(host, [{ address: host, family: literal as 4 | 6 }]);
    if (!this.allowPrivate && isLoopbackName(host)) return { kind: 'refused', reason: `${host} is a loopback name` };
    let found: { address: string; family: 4 | 6 }[];
    try {
      found = await this.lookUp(host);
    } catch (error) {
      const cause = error as NodeJS.ErrnoException;
      return { kind: 'unresolved', reason: `${host} cannot be resolved: ${cause.code ?? cause.message}`, noSuchHost: cause.code === 'ENOTFOUND' };
    }
    if (found.length === 0) return { kind: 'unresolved', reason: `${host} has no address`, noSuchHost: true };
    return this.judge(host, found);
  }

  /** Checks a URL as an account gives it: syntax, then where its host points. */
  async check(text: string): Promise<string | null> {
    const problem = urlProblem(text);
    if (problem) return problem;
    const verdict = await this.verdict(hostOf(new URL(text)));
    if (verdict.kind === 'public') return null;
    if (verdict.kind === 'refused') return `is refused: ${verdict.reason}; ${ALLOW_PRIVATE_HINT}`;
    // A host that does not exist is not private: the setting would not help, so it is not named.
    return verdict.noSuchHost ? `is refused: ${verdict.reason}` : `cannot be checked now: ${verdict.reason}`;
  }

  /** A `lookup` for http(s).Agent: the connection goes only to addresses that passed the check. */
  lookupFunction(): LookupFunction {
    return (hostname, options, callback) => {
      this.addresses(hostname).then(
        (found) => {
          if (options.all) callback(null, found);
          else callback(null, found[0]!.address, found[0]!.family);
        },
        (error: Error) => callback(Object.assign(error, { code: error instanceof RefusedTarget ? 'EREFUSEDTARGET' : 'ENOTFOUND' }), '', 0),
      );
    };
  }

  private judge(host: string, found: { address: string; family: 4 | 6 }[]): TargetVerdict {
    if (!this.allowPrivate) {
      for (const entry of found) {
        const reason = nonPublicReason(entry.address);
        if (reason === null) continue;
        const which = entry.address === host ? `${host} is not a public address` : `${host} resolves to ${entry.address}, which is not a public address`;
        return { kind: 'refused', reason: `${which} (${reason})` };
      }
    }
    return { kind: 'public', addresses: found };
  }

  private async lookUp(host: string): Promise<{ address: string; family: 4 | 6 }[]> {
    if (!this.resolver) {
      const found = await systemLookup(host, { all: true, verbatim: true });
      return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
    }
    const settle = (promise: Promise<string[]>) => promise.catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENODATA' || error.code === 'ENOTFOUND') return [] as string[];
      throw error;
    });
    const [v4, v6] = await Promise.all([settle(this.resolver.resolve4(host)), settle(this.resolver.resolve6(host))]);
    return [...v4.map((address) => ({ address, family: 4 as const })), ...v6.map((address) => ({ address, family: 6 as const }))];
  }
}

/** Refuses a literal IP host that is not public (an Agent does not look literals up). */
export function checkLiteralHost(url: URL, allowPrivate: boolean): void {
  const host = hostOf(url);
  if (allowPrivate || !isIP(host)) return;
  const reason = nonPublicReason(host);
  if (reason !== null) throw new RefusedTarget(`${host} is not a public address (${reason})`);
}
