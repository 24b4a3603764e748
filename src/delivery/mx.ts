import type { Logger } from '../shared/log.js';
import { Destinations } from './destinations.js';
import { mxMatches, type AppliedPolicy, type MtaStsResolver } from './mtaSts.js';
import type { MxResolver, SmtpTarget } from './mxResolver.js';
import type { SmtpEngine } from './smtpEngine.js';
import type { DeliveryReport, OutboundMessage, RecipientResult, Transport } from './transport.js';

/** MAILROOM_MTA_STS when not `off`: whose mail honours recipient domains' MTA-STS policies. */
export interface MtaStsSetting {
  scope: 'hipaa' | 'all';
  policies: MtaStsResolver;
  log: Logger;
}

/** Where and how one domain's recipients may be delivered: `verified` = STARTTLS with a certificate that verifies, only. */
type Plan = { kind: 'send'; targets: readonly SmtpTarget[]; verified: boolean } | { kind: 'no-mx-allowed' };

/**
 * Direct delivery: the recipients of a message are grouped by domain, each group goes to its
 * domain's MX hosts in one transaction, within the limits of its destination (MX host set).
 * Groups of one message are delivered side by side.
 */
export class MxTransport implements Transport {
  readonly name = 'mx';
  /** Recipient domain → destination, as last resolved (for busyDomains). */
  private readonly domainDestination = new Map<string, string>();
  /** `domain id` of the testing-mode policies whose MX mismatch was logged: once each. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly resolver: MxResolver,
    private readonly engine: SmtpEngine,
    private readonly destinations: Destinations,
    private readonly mtaSts: MtaStsSetting | null = null,
  ) {}

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
    await this.mtaSts?.policies.close();
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
    // Before taking a slot at the destination: a policy fetch must not hold a connection's place.
    const plan = await this.plan(message, domain, route.targets, route.mxHosts);
    if (plan.kind === 'no-mx-allowed') {
      return { acceptedAs: 'delivered', destination, recipients: recipients.map((address) => noMxAllowed(address, domain, route.mxHosts)) };
    }
    return this.destinations.run(destination, route.mxHosts, async () => {
      const envelope = { from: message.returnPath(recipients), to: recipients };
      const result = await this.engine.send(plan.targets, envelope, message.raw, message.recorded, plan.verified);
      this.destinations.recordConnection(destination, result.connected, result.recipients[0]?.reply);
      return { ...result, destination };
    });
  }

  /**
   * Applies the domain's MTA-STS policy (RFC 8461 section 5) when MAILROOM_MTA_STS covers the
   * message. It only ever narrows delivery: `enforce` keeps the MX hosts the policy names, each
   * over TLS that verifies (the engine's HIPAA path); `testing` and `none` change nothing, and a
   * HIPAA message needs TLS that verifies whatever the policy says.
   */
  private async plan(message: OutboundMessage, domain: string, targets: readonly SmtpTarget[], mxHosts: readonly string[]): Promise<Plan> {
    const hipaa = message.hipaa === true;
    const sts = this.mtaSts;
    const policy = sts && (sts.scope === 'all' || hipaa) ? await sts.policies.policyFor(domain) : null;
    if (policy === null || policy.mode === 'none') return { kind: 'send', targets, verified: hipaa };
    if (policy.mode === 'testing') {
      this.warnTesting(domain, policy, mxHosts);
      return { kind: 'send', targets, verified: hipaa };
    }
    const allowed = targets.filter((target) => mxMatches(policy.mx, target.hostname));
    return allowed.length > 0 ? { kind: 'send', targets: allowed, verified: true } : { kind: 'no-mx-allowed' };
  }

  /** A testing-mode policy that enforce would refuse some MX hosts under: one line per domain and policy id, no address. */
  private warnTesting(domain: string, policy: AppliedPolicy, mxHosts: readonly string[]): void {
    const unlisted = mxHosts.filter((host) => !mxMatches(policy.mx, host));
    const key = `${domain} ${policy.id}`;
    if (unlisted.length === 0 || this.warned.has(key)) return;
    if (this.warned.size > 10_000) this.warned.clear();
    this.warned.add(key);
    this.mtaSts?.log.warn(
      { domain, policyId: policy.id, unlistedMxHosts: unlisted, policyMx: policy.mx },
      'MTA-STS policy in testing mode does not list these MX hosts of the domain; delivering as without a policy',
    );
  }
}

/** RFC 8461 section 4.2: no MX host qualifies under an enforce policy; deferred (a later try looks the policy up again), never sent. */
function noMxAllowed(address: string, domain: string, mxHosts: readonly string[]): RecipientResult {
  return {
    address,
    reply: `4.7.5 MTA-STS policy of ${domain} allows none of its MX hosts (${mxHosts.join(', ')})`,
    outcome: 'deferred',
    code: null,
    enhancedCode: '4.7.5',
    reason: 'tlsrequired',
    bounceClass: null,
    retryAfterMs: null,
    rule: 'mta-sts-no-mx',
  };
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
