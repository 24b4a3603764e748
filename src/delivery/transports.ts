import type { Config } from '../config/settings.js';
import type { Database } from '../db/database.js';
import type { Clock } from '../shared/clock.js';
import { RelayTransport } from './relay.js';
import { SandboxTransport } from './sandbox.js';
import type { Transport } from './transport.js';

export function createTransport(config: Config, db: Database, clock: Clock): Transport {
  switch (config.transport) {
    case 'sandbox':
      return new SandboxTransport(db, clock);
    case 'relay':
      return new RelayTransport(config.relayUrl, config.relayMaxConnections);
    default:
      throw new Error(`transport ${config.transport} is not available in this version`);
  }
}
