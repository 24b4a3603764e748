import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '../config/settings.js';
import { Destinations } from './destinations.js';
import { MxResolver } from './mxResolver.js';
import { MxTransport } from './mx.js';
import { RelayTransport, relaySettings } from './relay.js';
import { SandboxTransport } from './sandbox.js';
import { SmtpEngine } from './smtpEngine.js';
import type { Transport } from './transport.js';

export function createTransport(config: Config): Transport {
  const heloName = config.heloName || hostname();
  const timeoutMs = config.smtpTimeoutSeconds * 1000;
  const extraCa = outboundCa(config.outboundCaFile);
  switch (config.transport) {
    case 'sandbox':
      return new SandboxTransport();
    case 'relay': {
      const relay = relaySettings(config.relayUrl);
      const engine = new SmtpEngine({ heloName, timeoutMs, maxConnectionsPerHost: config.relayMaxConnections, ...relay.engine, ...extraCa });
      const destinations = new Destinations({ concurrency: config.relayMaxConnections, ratePerSecond: config.destinationRate });
      return new RelayTransport(relay.target, engine, destinations);
    }
    case 'mx': {
      const limits = { concurrency: config.destinationConcurrency, ratePerSecond: config.destinationRate };
      const engine = new SmtpEngine({ heloName, timeoutMs, maxConnectionsPerHost: limits.concurrency, tls: 'opportunistic', verifyCertificates: false, ...extraCa });
      return new MxTransport(new MxResolver(config.dnsServers, config.mxDeliveryPort), engine, new Destinations(limits, config.destinationLimits));
    }
    default:
      throw new Error(`transport ${config.transport} is not available in this version`);
  }
}

/** MAILROOM_OUTBOUND_CA_FILE: certificates a private receiver's chain ends in (a test's CA, an internal relay's). */
function outboundCa(file: string): { extraCa?: string } {
  if (!file) return {};
  try {
    return { extraCa: readFileSync(file, 'utf8') };
  } catch (error) {
    throw new Error(`mailroom: invalid MAILROOM_OUTBOUND_CA_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
