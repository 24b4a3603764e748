/**
 * Value parsers for settings. Each takes the raw value (a string from the environment, or any
 * JSON value from the config file) and returns the typed value or throws a ConfigError-ready
 * message saying what was expected.
 */
export type Parser<T> = (raw: unknown) => T;

export class InvalidValue extends Error {}

function asString(raw: unknown): string {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new InvalidValue('expected a string');
}

export const text: Parser<string> = (raw) => asString(raw);

export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = typeof raw === 'number' ? raw : Number(asString(raw));
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidValue(`expected an integer from ${min} to ${max}`);
    }
    return value;
  };
}

export const port = integer(0, 65535);

/** A fraction such as a rate threshold: "0.05" is 5%. */
export function fraction(min: number, max: number): Parser<number> {
  return (raw) => {
    const text = typeof raw === 'number' ? String(raw) : asString(raw).trim();
    const value = text === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value) || value < min || value > max) throw new InvalidValue(`must be a number from ${min} to ${max}`);
    return value;
  };
}

export const flag: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  const value = asString(raw).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
  throw new InvalidValue('expected 1/0, true/false, yes/no or on/off');
};

export function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    const value = asString(raw) as T;
    if (!values.includes(value)) throw new InvalidValue(`expected one of ${values.join(', ')}`);
    return value;
  };
}

export function url(...protocols: string[]): Parser<string> {
  return (raw) => {
    const value = asString(raw);
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new InvalidValue(`expected a URL (${protocols.join(' or ')})`);
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      throw new InvalidValue(`expected a URL (${protocols.join(' or ')}), got ${parsed.protocol}`);
    }
    return value.replace(/\/+$/, '');
  };
}

/** `host:port,host:port` (port optional, default 53); IPv6 as `[::1]:53`. */
export const hostPortList: Parser<string[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map(asString) : asString(raw).split(',');
  const list = items.map((item) => item.trim()).filter(Boolean);
  for (const item of list) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(item)) {
      throw new InvalidValue(`expected host:port items separated by commas, got "${item}"`);
    }
  }
  return list;
};

export const roleList: Parser<Role[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map(asString) : asString(raw).split(',');
  const roles = items.map((item) => item.trim()).filter(Boolean);
  for (const role of roles) {
    if (!ROLES.includes(role as Role)) throw new InvalidValue(`expected roles from ${ROLES.join(', ')}, got "${role}"`);
  }
  if (roles.length === 0) throw new InvalidValue(`expected at least one role of ${ROLES.join(', ')}`);
  return [...new Set(roles)] as Role[];
};

/** File name extensions, "pdf,docx" or [".pdf", "docx"]: lower case, without the dot. */
export const extensionList: Parser<string[]> = (raw) => {
  const items = (Array.isArray(raw) ? raw.map(asString) : asString(raw).split(',')).map((item) => item.trim().toLowerCase().replace(/^\./, '')).filter(Boolean);
  for (const item of items) {
    if (!/^[a-z0-9]{1,16}$/.test(item)) throw new InvalidValue(`expected file name extensions such as pdf,docx, got "${item}"`);
  }
  if (items.length === 0) throw new InvalidValue('expected at least one extension');
  return [...new Set(items)];
};

export const ROLES = ['api', 'smtp', 'worker', 'mx'] as const;
export type Role = (typeof ROLES)[number];

export const base64Key32: Parser<Buffer> = (raw) => {
  const value = asString(raw);
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw new InvalidValue('expected 32 bytes encoded in base64');
  }
  return key;
};

/** Keys in base64 separated by commas (or a JSON list of them); empty allowed. */
export const base64Key32List: Parser<Buffer[]> = (raw) => {
  const items = (Array.isArray(raw) ? raw.map(asString) : asString(raw).split(',')).map((item) => item.trim()).filter(Boolean);
  return items.map((item, index) => {
    try {
      return base64Key32(item);
    } catch {
      throw new InvalidValue(`key ${index + 1}: expected 32 bytes encoded in base64`);
    }
  });
};

/** Per-destination limits for one group of MX hosts (see src/delivery/destinations.ts). */
export interface DestinationLimitRule {
  /** An MX host name, or `*.suffix` for every MX host under that suffix (e.g. `*.google.com`). */
  match: string;
  concurrency?: number;
  ratePerSecond?: number;
}

/**
 * JSON list of `{"match": "*.outlook.com", "concurrency": 5, "ratePerSecond": 20}`: overrides of
 * the default per-destination limits for the providers whose MX hosts match.
 */
export const destinationLimitRules: Parser<DestinationLimitRule[]> = (raw) => {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InvalidValue('expected a JSON list like [{"match":"*.example.com","concurrency":5,"ratePerSecond":10}]');
    }
  }
  if (!Array.isArray(value)) throw new InvalidValue('expected a JSON list of {match, concurrency?, ratePerSecond?}');
  return value.map((item: unknown, index) => {
    const rule = item as Record<string, unknown> | null;
    const where = `item ${index + 1}`;
    if (!rule || typeof rule !== 'object' || typeof rule.match !== 'string' || !/^(\*\.)?[A-Za-z0-9.-]+$/.test(rule.match)) {
      throw new InvalidValue(`${where}: expected "match" as a host name or *.suffix`);
    }
    for (const field of ['concurrency', 'ratePerSecond'] as const) {
      const limit = rule[field];
      if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > 100_000)) {
        throw new InvalidValue(`${where}: expected "${field}" as an integer from 0 to 100000`);
      }
    }
    return {
      match: rule.match.toLowerCase(),
      concurrency: rule.concurrency as number | undefined,
      ratePerSecond: rule.ratePerSecond as number | undefined,
    };
  });
};

/** A domain name (for the bounce domain); empty allowed. */
export const domainName: Parser<string> = (raw) => {
  const value = asString(raw).toLowerCase();
  if (value && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(value)) {
    throw new InvalidValue('expected a domain name like bounces.example.com');
  }
  return value;
};

/** A bearer token: empty (none), or at least `minLength` printable characters without spaces. */
export function secretToken(minLength: number): Parser<string> {
  return (raw) => {
    const value = asString(raw);
    if (value !== '' && !new RegExp(`^[\\x21-\\x7e]{${minLength},}$`).test(value)) {
      throw new InvalidValue(`expected at least ${minLength} printable characters without spaces (e.g. openssl rand -hex 32)`);
    }
    return value;
  };
}
