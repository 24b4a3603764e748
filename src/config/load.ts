import { isIP } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidValue } from './parsers.js';
import { SETTINGS, type Config, type SettingKey } from './settings.js';

/** A bad setting: the message is the one line printed before start-up stops. */
export class ConfigError extends Error {}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Path given with --config; when absent, ./mailroom.config.json is read if it exists. */
  configFile?: string | undefined;
  /** Values from the command line (e.g. --roles), which win over everything else. */
  overrides?: Partial<Record<SettingKey, unknown>>;
  cwd?: string;
}

const KEYS = Object.keys(SETTINGS) as SettingKey[];
const KEY_BY_ENV = new Map(KEYS.map((key) => [SETTINGS[key].env, key]));
/** Settings whose values are key material: an error about one does not repeat it. */
/** Settings whose value is a secret: a bad one is never echoed, since the message reaches logs and terminals. */
const SECRET_SETTINGS = new Set<SettingKey>(['encryptionKey', 'encryptionKeysPrevious', 'metricsToken', 'bootstrapApiKey']);
/** Settings holding a URL, whose user-info may carry a password. */
const URL_SETTINGS = new Set<SettingKey>(['databaseUrl', 'relayUrl', 'publicUrl']);

/** How a bad value is shown in the error: secrets not at all, a URL's password masked. */
function shownValue(key: SettingKey, raw: unknown): string {
  if (SECRET_SETTINGS.has(key)) return '(value not shown)';
  if (typeof raw !== 'string') return JSON.stringify(raw) ?? String(raw);
  if (URL_SETTINGS.has(key)) return JSON.stringify(raw.replace(/^([^:/?#]*:\/\/[^:@/?#]*:)[^@/?#]*@/, '$1***@'));
  return JSON.stringify(raw);
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `invalid JSON: ${error.message}` : `cannot read it: ${(error as Error).message}`;
    throw new ConfigError(`config file ${path}: ${reason}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a JSON object of settings`);
  }
  return parsed as Record<string, unknown>;
}

/** Accepts both `httpPort` and `MAILROOM_HTTP_PORT` as keys of the config file. */
function fileValues(path: string): Map<SettingKey, unknown> {
  const values = new Map<SettingKey, unknown>();
  for (const [name, value] of Object.entries(readConfigFile(path))) {
    const key = (KEYS as string[]).includes(name) ? (name as SettingKey) : KEY_BY_ENV.get(name);
    if (!key) throw new ConfigError(`config file ${path}: unknown setting "${name}"`);
    values.set(key, value);
  }
  return values;
}

function parseOne(key: SettingKey, raw: unknown, source: string): unknown {
  try {
    return SETTINGS[key].parse(raw);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new ConfigError(`invalid ${SETTINGS[key].env} (${source}): ${error.message}, got ${shownValue(key, raw)}`);
  }
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function checkCombination(config: Config): void {
  if (config.transport === 'relay' && !config.relayUrl) {
    throw new ConfigError('invalid MAILROOM_RELAY_URL: required when MAILROOM_TRANSPORT=relay');
  }
  if (config.hipaaHttpPlain && !isLoopbackHost(config.hipaaHttpHost)) {
    throw new ConfigError(`invalid MAILROOM_HIPAA_HTTP_PLAIN: needs a loopback MAILROOM_HIPAA_HTTP_HOST (127.0.0.1, ::1), not ${config.hipaaHttpHost}: PHI never crosses a network in clear`);
  }
  if (config.transport === 'ses') {
    throw new ConfigError(`invalid MAILROOM_TRANSPORT: "${config.transport}" is not available in this version (use sandbox, mx or relay)`);
  }
}

/** Reads every setting once: defaults, then the config file, then the environment, then overrides. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicitFile = options.configFile ? resolve(cwd, options.configFile) : undefined;
  if (explicitFile && !existsSync(explicitFile)) throw new ConfigError(`config file ${explicitFile}: not found`);
  const defaultFile = resolve(cwd, 'mailroom.config.json');
  const file = explicitFile ?? (existsSync(defaultFile) ? defaultFile : undefined);
  const fromFile = file ? fileValues(file) : new Map<SettingKey, unknown>();

  const config = {} as Record<SettingKey, unknown>;
  for (const key of KEYS) {
    const spec = SETTINGS[key];
    const override = options.overrides?.[key];
    const envValue = env[spec.env];
    if (override !== undefined) config[key] = parseOne(key, override, 'command line');
    else if (envValue !== undefined && envValue !== '') config[key] = parseOne(key, envValue, 'environment');
    else if (fromFile.has(key)) config[key] = parseOne(key, fromFile.get(key), `config file ${file}`);
    else config[key] = spec.default;
  }
  const typed = config as Config;
  typed.dataDir = resolve(cwd, typed.dataDir);
  checkCombination(typed);
  return typed;
}
