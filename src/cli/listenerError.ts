import type { Config, SettingKey } from '../config/settings.js';
import { SETTINGS } from '../config/settings.js';

/** Each listener's port setting and the setting of the address it listens on. */
const LISTENERS: readonly { port: SettingKey; host: SettingKey }[] = [
  { port: 'httpPort', host: 'host' },
  { port: 'smtpPort', host: 'smtpHost' },
  { port: 'smtpsPort', host: 'smtpHost' },
  { port: 'mxPort', host: 'mxHost' },
  { port: 'metricsPort', host: 'metricsHost' },
  { port: 'hipaaHttpPort', host: 'hipaaHttpHost' },
  { port: 'hipaaSmtpPort', host: 'hipaaSmtpHost' },
];

const WHY: Record<string, string> = {
  EADDRINUSE: 'is already in use (another Mailroom, or another server, holds it)',
  EACCES: 'may not be opened by this user (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'cannot be opened: the address is not one of this machine\'s',
};

interface ListenFailure { code?: unknown; port?: unknown; address?: unknown }

/**
 * A listener that could not open, as one line naming the setting to change, instead of a stack
 * trace: the first thing a new user meets when port 3000 is taken. Null for any other error.
 */
export function listenerProblem(error: unknown, config: Config): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, port, address } = error as ListenFailure;
  if (typeof code !== 'string' || !(code in WHY) || typeof port !== 'number') return null;
  const names = LISTENERS.filter((listener) => config[listener.port] === port);
  const where = typeof address === 'string' ? `${address}:${port}` : `port ${port}`;
  if (names.length === 0) return `${where} ${WHY[code]}.`;
  const ports = names.map((listener) => SETTINGS[listener.port].env).join(' / ');
  const hosts = [...new Set(names.map((listener) => SETTINGS[listener.host].env))].join(' / ');
  const fix = code === 'EADDRNOTAVAIL' ? `set ${hosts} to an address of this machine` : `set ${ports} to another port, or stop what holds it`;
  return `${where} (${ports}) ${WHY[code]}: ${fix}.`;
}
