import type { SmtpTarget } from './mxResolver.js';
import type { EngineOptions, SmtpEngine } from './smtpEngine.js';
import type { Destinations } from './destinations.js';
import type { DeliveryReport, OutboundMessage, Transport } from './transport.js';

/**
 * Every message to one smarthost (MAILROOM_RELAY_URL) through the same engine as `mx`:
 * `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://` (implicit TLS).
 * Query options: `starttls=required` refuses plain text; `verify=false` accepts a self-signed
 * certificate (a relay on the same host).
 */
export interface RelaySettings {
  target: SmtpTarget;
  engine: Pick<EngineOptions, 'tls' | 'verifyCertificates' | 'auth'>;
}

export function relaySettings(url: string): RelaySettings {
  const parsed = new URL(url);
  const implicit = parsed.protocol === 'smtps:';
  const starttls = parsed.searchParams.get('starttls');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return {
    target: { address: host, hostname: host, port: Number(parsed.port || (implicit ? 465 : 587)) },
    engine: {
      tls: implicit ? 'implicit' : starttls === 'required' ? 'required' : starttls === 'off' ? 'off' : 'opportunistic',
      verifyCertificates: parsed.searchParams.get('verify') !== 'false',
      auth: parsed.username ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } : undefined,
    },
  };
}

export class RelayTransport implements Transport {
  readonly name = 'relay';

  constructor(
    private readonly target: SmtpTarget,
    private readonly engine: SmtpEngine,
    private readonly destinations: Destinations,
  ) {}

  async deliver(message: OutboundMessage): Promise<DeliveryReport> {
    const { target } = this;
    const limitKey = `relay:${target.hostname}`;
    const report = await this.destinations.run(limitKey, [target.hostname], () =>
      this.engine.send([target], { from: message.returnPath(message.envelope.to), to: message.envelope.to }, message.raw, message.recorded, message.hipaa === true),
    );
    // A relay's 250 means "queued there", not "in the mailbox".
    return { ...report, acceptedAs: 'sent', destination: `${target.hostname}:${target.port}` };
  }

  busyDomains(): string[] {
    return [];
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
}
