import { Destinations } from './destinations.js';
import type { MxResolver } from './mxResolver.js';
import type { SmtpEngine } from './smtpEngine.js';
import type { DeliveryReport, OutboundMessage, RecipientResult, Transport } from './transport.js';

/**
 * Direct delivery: the recipients of a message are grouped by domain, each group goes to its
 * domain's MX hosts in one transaction, within the limits of its destination (MX host set).
 * Groups of one message are delivered side by side.
 */
export class MxTransport implements Transport {
  readonly name = 'mx';
  /** Recipient domain → destination, as last resolved (for busyDomains). */
  private readonly domainDestination = new Map<string, string>();

  constructor(private readonly resolver: MxResolver, private readonly engine: SmtpEngine, private readonly destinations: Destinations) {}

  async deliver(message: OutboundMessage): Promise<DeliveryReport> {
    const byDomain = new Map<string, string[]>();
    for (const address of message.envelope.to) {
      const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
      byDomain.set(domain, [...(byDomain.get(domain) ?? []), address]);
    }
    const reports = await Promise.all([...byDomain].map(([domain, recipients]) => this.deliverToDomain(message, domain, recipients)));
    const first = reports.find((report) => report.host) ?? reports[0];
    const waiting = reports.find((report) => report.recipients.some((recipient) => recipient.outcome === 'deferred'));
    return {
      acceptedAs: 'delivered',
      recipients: reports.flatMap((report) => report.recipients),
      host: first?.host,
      tls: reports.find((report) => report.tls)?.tls,
      destination: (waiting ?? first)?.destination,
    };
  }

  busyDomains(): string[] {
    const saturated = this.destinations.saturated();
    if (saturated.size === 0) return [];
    const busy: string[] = [];
    for (const [domain, destination] of this.domainDestination) if (saturated.has(destination)) busy.push(domain);
    return busy;
  }

  waiting(): number {
    return this.destinations.waiting();
  }

  onWaiting(listener: () => void): void {
    this.destinations.onWaiting(listener);
  }

  async close(): Promise<void> {
    await this.engine.close();
  }

  private async deliverToDomain(message: OutboundMessage, domain: string, recipients: string[]): Promise<DeliveryReport> {
    const route = await this.resolver.resolve(domain);
    if (route.kind === 'failed') {
      return { acceptedAs: 'delivered', recipients: recipients.map((address) => ({ address, reply: route.reply, ...route.classification })) };
    }
    if (this.domainDestination.size > 100_000) this.domainDestination.clear();
    this.domainDestination.set(domain, route.destination);
    const { destination } = route;
    const dead = this.destinations.deadReason(destination);
    if (dead !== null) return { acceptedAs: 'delivered', destination, recipients: recipients.map((address) => deadDestination(address, dead)) };
    return this.destinations.run(destination, route.mxHosts, async () => {
      const envelope = { from: message.returnPath(recipients), to: recipients };
      const result = await this.engine.send(route.targets, envelope, message.raw, message.recorded, message.hipaa === true);
      this.destinations.recordConnection(destination, result.connected, result.recipients[0]?.reply);
      return { ...result, destination };
    });
  }
}

function deadDestination(address: string, lastError: string): RecipientResult {
  return {
    address,
    reply: `4.4.1 destination skipped for a minute after repeated connection failures (last: ${lastError})`,
    outcome: 'deferred',
    code: null,
    enhancedCode: '4.4.1',
    reason: 'networkerror',
    bounceClass: null,
    retryAfterMs: null,
    rule: 'destination-dead',
  };
}
