import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '../config/settings.js';
import type { Logger } from '../shared/log.js';
import { Destinations } from './destinations.js';
import { MtaStsResolver } from './mtaSts.js';
import { MxResolver } from './mxResolver.js';
import { MxTransport, type MtaStsSetting } from './mx.js';
import { RelayTransport, relaySettings } from './relay.js';
import { SandboxTransport } from './sandbox.js';
import { SmtpEngine } from './smtpEngine.js';
import type { Transport } from './transport.js';

/** `log`: where the mx transport's MTA-STS warnings go. */
export function createTransport(config: Config, log: Logger): Transport {
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
      const mtaSts = mtaStsSetting(config, extraCa, log);
      return new MxTransport(new MxResolver(config.dnsServers, config.mxDeliveryPort), engine, new Destinations(limits, config.destinationLimits), mtaSts);
    }
    default:
      throw new Error(`transport ${config.transport} is not available in this version`);
  }
}

/** MAILROOM_MTA_STS: off = no look-ups at all. */
function mtaStsSetting(config: Config, extraCa: { extraCa?: string }, log: Logger): MtaStsSetting | null {
  if (config.mtaSts === 'off') return null;
  const policies = new MtaStsResolver({ dnsServers: config.dnsServers, port: config.mtaStsPort, ...extraCa, log });
  return { scope: config.mtaSts, policies, log };
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
