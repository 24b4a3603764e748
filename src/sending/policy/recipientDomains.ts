import { Resolver } from 'node:dns/promises';

const POSITIVE_TTL_MS = 60 * 60_000;
const NEGATIVE_TTL_MS = 5 * 60_000;
/** Answers that say the domain cannot take mail; anything else (time-out, SERVFAIL) is our problem, not the sender's. */
const DOES_NOT_EXIST = new Set(['ENOTFOUND', 'ENODATA']);

export type DomainVerdict = { ok: true } | { ok: false; reason: string };

/**
 * The optional check that a recipient's domain can receive mail at all: an MX record (not the
 * null MX of RFC 7505), or an A or AAAA record (the implicit MX). Looked up through
 * MAILROOM_DNS_SERVERS and cached, since a list of recipients shares a few domains. A DNS
 * failure accepts the message: delivery will retry, and refusing mail because our resolver
 * hiccuped would lose it.
 */
export class RecipientDomainCheck {
  private readonly resolver: Resolver;
  private readonly cache = new Map<string, { verdict: DomainVerdict; until: number }>();
  private readonly pending = new Map<string, Promise<DomainVerdict>>();

  constructor(servers: readonly string[], timeoutMs = 3_000) {
    this.resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
    if (servers.length > 0) this.resolver.setServers([...servers]);
  }

  async check(domain: string): Promise<DomainVerdict> {
    const hit = this.cache.get(domain);
    if (hit && hit.until > Date.now()) return hit.verdict;
    let lookup = this.pending.get(domain);
    if (!lookup) {
      lookup = this.lookUp(domain).finally(() => this.pending.delete(domain));
      this.pending.set(domain, lookup);
    }
    return lookup;
  }

  private async lookUp(domain: string): Promise<DomainVerdict> {
    let verdict: DomainVerdict;
    try {
      verdict = await this.verdict(domain);
    } catch {
      return { ok: true };
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(domain, { verdict, until: Date.now() + (verdict.ok ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS) });
    return verdict;
  }

  /** Throws on a DNS failure (not cached, the message accepted). */
  private async verdict(domain: string): Promise<DomainVerdict> {
    const mx = await this.orNothing(this.resolver.resolveMx(domain));
    if (mx.length > 0) {
      if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) return { ok: false, reason: `${domain} publishes a null MX: it accepts no mail` };
      return { ok: true };
    }
    const [a, aaaa] = await Promise.all([this.orNothing(this.resolver.resolve4(domain)), this.orNothing(this.resolver.resolve6(domain))]);
    if (a.length > 0 || aaaa.length > 0) return { ok: true };
    return { ok: false, reason: `${domain} has no MX, A or AAAA record: no server takes mail for it` };
  }

  private async orNothing<T>(lookup: Promise<T[]>): Promise<T[]> {
    try {
      return await lookup;
    } catch (error) {
      if (DOES_NOT_EXIST.has((error as { code?: string }).code ?? '')) return [];
      throw error;
    }
  }
}
