import { MxResolver } from '../../delivery/mxResolver.js';

export type DomainVerdict = { ok: true } | { ok: false; reason: string };

/**
 * The optional check that a recipient's domain can receive mail at all. It asks the delivery's
 * own MX resolver (MAILROOM_DNS_SERVERS, its cache and its shared look-ups), so a message is
 * refused now exactly when delivery would bounce it at once for its domain: no such domain, a
 * null MX (RFC 7505), or no MX, A or AAAA record to deliver to. A DNS failure accepts the
 * message: delivery will retry, and refusing mail because a resolver hiccuped would lose it.
 */
export class RecipientDomainCheck {
  private readonly resolver: MxResolver;

  constructor(servers: readonly string[]) {
    // The port is never used: only the route's verdict is read.
    this.resolver = new MxResolver(servers, 25, 3_000);
  }

  async check(domain: string): Promise<DomainVerdict> {
    const route = await this.resolver.resolve(domain);
    if (route.kind === 'hosts' || route.classification.outcome === 'deferred') return { ok: true };
    switch (route.classification.rule) {
      case 'dns-null-mx':
        return { ok: false, reason: `${domain} publishes a null MX: it accepts no mail` };
      case 'dns-no-address':
        return { ok: false, reason: `${domain} has no MX, A or AAAA record that leads to a server with an address` };
      default:
        return { ok: false, reason: `${domain} has no MX, A or AAAA record: no server takes mail for it` };
    }
  }
}
