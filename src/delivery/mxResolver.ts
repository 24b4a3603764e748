import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { LoadingCache } from '../shared/loadingCache.js';
import type { ReplyClassification } from './transport.js';

/** One address to try, with the MX host name it came from (for TLS SNI and the event). */
export interface SmtpTarget {
  address: string;
  hostname: string;
  port: number;
}

export type Route =
  /** `destination` names the MX host set: every domain hosted by one provider shares its limits. */
  | { kind: 'hosts'; destination: string; mxHosts: string[]; targets: SmtpTarget[] }
  | { kind: 'failed'; reply: string; classification: ReplyClassification };

const POSITIVE_TTL_MS = 5 * 60_000;
const NEGATIVE_TTL_MS = 60_000;
const MAX_TARGETS = 10;

function failure(outcome: 'deferred' | 'bounced', code: number | null, enhancedCode: string, reason: string, rule: string, reply: string): Route {
  return {
    kind: 'failed',
    reply,
    classification: { outcome, code, enhancedCode, reason, bounceClass: outcome === 'bounced' ? 'HARD' : null, retryAfterMs: null, rule },
  };
}

/**
 * Finds where mail for a domain goes (RFC 5321 section 5.1): its MX hosts in preference order
 * (equal preferences shuffled to spread load), each resolved to addresses through
 * MAILROOM_DNS_SERVERS; the domain itself when it has no MX but an address (implicit MX); a hard
 * bounce for a domain that does not exist or publishes a null MX (RFC 7505); a deferral for a
 * DNS failure. Answers are cached: every message to gmail.com must not cost a look-up.
 *
 * Node's resolver (c-ares) is used rather than dns.lookup, because lookup goes through the
 * system's configuration and cannot be pointed at the servers the operator chose.
 */
export class MxResolver {
  private readonly resolver: Resolver;
  // Concurrent messages to one domain share one look-up. A temporary failure is not kept: the
  // next message asks again.
  private readonly cache = new LoadingCache<string, Route>({
    ttlMs: (route) => (route.kind === 'hosts' ? POSITIVE_TTL_MS : route.classification.outcome === 'deferred' ? 0 : NEGATIVE_TTL_MS),
    maxEntries: 50_000,
  });

  constructor(servers: readonly string[], private readonly port: number, timeoutMs = 5_000) {
    this.resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
    if (servers.length > 0) this.resolver.setServers([...servers]);
  }

  resolve(domain: string): Promise<Route> {
    return this.cache.get(domain, () => this.route(domain));
  }

  private async route(domain: string): Promise<Route> {
    if (isIP(domain.replace(/^\[|\]$/g, ''))) {
      const address = domain.replace(/^\[|\]$/g, '');
      return { kind: 'hosts', destination: address, mxHosts: [address], targets: [{ address, hostname: address, port: this.port }] };
    }
    let exchanges: string[];
    try {
      const records = await this.resolver.resolveMx(domain);
      if (records.some((record) => record.exchange === '' || record.exchange === '.')) {
        return failure('bounced', 556, '5.1.10', 'notaccept', 'dns-null-mx', `556 5.1.10 ${domain} does not accept mail (null MX, RFC 7505)`);
      }
      exchanges = orderByPreference(records).map((record) => record.exchange.toLowerCase().replace(/\.$/, ''));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND') {
        return failure('bounced', 550, '5.1.2', 'hostunknown', 'dns-nxdomain', `550 5.1.2 ${domain}: domain not found`);
      }
      if (code !== 'ENODATA') {
        return failure('deferred', null, '4.4.3', 'networkerror', 'dns-temporary', `4.4.3 MX look-up for ${domain} failed: ${code ?? String(error)}`);
      }
      exchanges = [domain];
    }
    const targets: SmtpTarget[] = [];
    let temporary = false;
    for (const hostname of exchanges) {
      const { addresses, failedTemporarily } = await this.addresses(hostname);
      temporary ||= failedTemporarily;
      for (const address of addresses) {
        if (targets.length < MAX_TARGETS) targets.push({ address, hostname, port: this.port });
      }
    }
    if (targets.length === 0) {
      if (temporary) return failure('deferred', null, '4.4.3', 'networkerror', 'dns-temporary', `4.4.3 address look-up for the MX hosts of ${domain} failed`);
      return failure('bounced', 550, '5.1.2', 'hostunknown', 'dns-no-address', `550 5.1.2 ${domain}: no address for its mail hosts (${exchanges.join(', ')})`);
    }
    const mxHosts = [...new Set(exchanges)];
    return { kind: 'hosts', destination: [...mxHosts].sort().join(','), mxHosts, targets };
  }

  private async addresses(hostname: string): Promise<{ addresses: string[]; failedTemporarily: boolean }> {
    if (isIP(hostname)) return { addresses: [hostname], failedTemporarily: false };
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(hostname), this.resolver.resolve6(hostname)]);
    const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    const permanent = new Set(['ENOTFOUND', 'ENODATA']);
    const failedTemporarily = [v4, v6].some((result) => result.status === 'rejected' && !permanent.has((result.reason as NodeJS.ErrnoException).code ?? ''));
    return { addresses, failedTemporarily };
  }
}

/** Lowest preference first; hosts of equal preference in random order (RFC 5321 section 5.1). */
function orderByPreference<T extends { priority: number }>(records: T[]): T[] {
  return records
    .map((record) => ({ record, tie: Math.random() }))
    .sort((a, b) => a.record.priority - b.record.priority || a.tie - b.tie)
    .map(({ record }) => record);
}
