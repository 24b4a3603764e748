import { lookup as systemLookup, Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

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

/** A syntax problem of a URL, or null: http(s), a host, no credentials, no fragment tricks. */
export function urlProblem(text: string): string | null {
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

/** Whether an address is one a public receiver can have (not loopback, private, link-local, ...). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

function hostOf(url: URL): string {
  // new URL keeps IPv6 literals in brackets.
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Resolves host names for outgoing webhook requests: through MAILROOM_DNS_SERVERS when set (as
 * MX look-ups do), otherwise the system's resolver; every address must be public.
 */
export class TargetResolver {
  private readonly resolver: Resolver | null;

  constructor(servers: readonly string[], private readonly allowPrivate: boolean, timeoutMs = 5_000) {
    this.resolver = servers.length > 0 ? new Resolver({ timeout: timeoutMs, tries: 2 }) : null;
    if (this.resolver) this.resolver.setServers([...servers]);
  }

  /** The addresses of a host, refused (RefusedTarget) if any is not public. */
  async addresses(host: string): Promise<{ address: string; family: 4 | 6 }[]> {
    const literal = isIP(host);
    const found = literal ? [{ address: host, family: literal as 4 | 6 }] : await this.lookUp(host);
    if (found.length === 0) throw new RefusedTarget(`${host} has no address`);
    if (!this.allowPrivate) {
      const inside = found.find((entry) => !isPublicAddress(entry.address));
      if (inside) throw new RefusedTarget(`${host} resolves to ${inside.address}, which is not a public address`);
    }
    return found;
  }

  /** Checks a URL as an account gives it: syntax, then where its host points. */
  async check(text: string): Promise<string | null> {
    const problem = urlProblem(text);
    if (problem) return problem;
    try {
      await this.addresses(hostOf(new URL(text)));
      return null;
    } catch (error) {
      if (error instanceof RefusedTarget) return `is refused: ${error.message}`;
      return `cannot be resolved: ${(error as Error).message}`;
    }
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
  if (!allowPrivate && isIP(host) && !isPublicAddress(host)) throw new RefusedTarget(`${host} is not a public address`);
}

