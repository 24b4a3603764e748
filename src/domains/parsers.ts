import { isIP } from 'node:net';
import { InvalidValue, type Parser } from '../config/parsers.js';

/**
 * Parsers of the domain settings. Kept apart from the rest of src/domains: src/config/settings.ts
 * imports this module while it builds its table, so it must not import anything that reads the
 * settings back.
 */

/** MAILROOM_SENDING_IPS: IPv4 and IPv6 addresses, separated by commas or spaces. */
export const ipList: Parser<string[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map((item) => String(item)) : typeof raw === 'string' ? raw.split(/[\s,]+/) : [String(raw)];
  const list = items.map((item) => item.trim()).filter(Boolean);
  for (const item of list) {
    if (isIP(item) === 0) throw new InvalidValue(`expected IPv4 or IPv6 addresses separated by commas, got "${item}"`);
  }
  return [...new Set(list.map((item) => item.toLowerCase()))];
};

/** A host name such as mx.example.com (one label allowed, as os.hostname() may be); empty allowed. */
export const hostName: Parser<string> = (raw) => {
  const value = (typeof raw === 'string' ? raw : String(raw)).trim().toLowerCase().replace(/\.$/, '');
  if (value && !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(value)) {
    throw new InvalidValue('expected a host name like mx.example.com');
  }
  return value;
};
