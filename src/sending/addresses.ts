import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { ADDRESS_CHARACTER_PROBLEM, hasControlCharacters, hasHiddenCharacters } from '../shared/characters.js';

/**
 * Address checks for what Mailroom will put on the wire. addressparser (Nodemailer's) splits a
 * display name from the address; the address itself is then held to RFC 5321: a dot-atom or
 * quoted local part of at most 64 octets, and a domain of LDH labels (IDN domains are converted
 * to A-labels) with at least one dot, 254 octets in all. Control and invisible characters are
 * refused anywhere (src/shared/characters.ts), never stripped.
 */
export interface ParsedAddress {
  name: string;
  address: string;
  domain: string;
}

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-";
const DOT_ATOM = new RegExp(`^[${ATEXT}\\u0080-\\uFFFF]+(\\.[${ATEXT}\\u0080-\\uFFFF]+)*$`);
const QUOTED = /^"([\x20\x21\x23-\x5B\x5D-\x7E]|\\[\x20-\x7E])*"$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ASCII = /^[\x21-\x7e]*$/;
/** A bare ASCII address, the common case: no display name to split off, so no parser needed. */
const BARE_ASCII = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$/;

/**
 * A domain name in its ASCII form (IDN labels as A-labels, lower case), or null when it is not one:
 * LDH labels of at most 63 octets, at least two, the last not all digits, 253 octets in all.
 * Control and invisible characters are refused first: domainToASCII would drop them silently.
 */
export function asciiDomain(domain: string): string | null {
  if (hasHiddenCharacters(domain)) return null;
  const lower = domain.toLowerCase();
  const ascii = ASCII.test(lower) ? lower : domainToASCII(lower);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels.at(-1)!)) return null;
  return ascii;
}

export function checkAddress(address: string): string | null {
  if (hasHiddenCharacters(address)) return ADDRESS_CHARACTER_PROBLEM;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'is not an email address (expected local@domain)';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (Buffer.byteLength(local) > 64) return 'has a local part longer than 64 octets';
  if (!DOT_ATOM.test(local) && !QUOTED.test(local)) return 'has an invalid local part';
  const ascii = asciiDomain(domain);
  if (!ascii) return 'has an invalid domain';
  if (Buffer.byteLength(local) + 1 + ascii.length > 254) return 'is longer than 254 octets';
  return null;
}

/**
 * An address given on its own (a suppression, a filter): no display name, spaces around it
 * ignored, otherwise the rules of checkAddress. Returns a problem, or null.
 */
export function bareAddressProblem(input: string): string | null {
  if (hasHiddenCharacters(input)) return ADDRESS_CHARACTER_PROBLEM;
  return checkAddress(input.trim());
}

/** Parses "addr" or "Name <addr>"; exactly one mailbox. Returns an error message or the parts. */
export function parseMailbox(input: string): ParsedAddress | string {
  if (/[\r\n\0]/.test(input)) return 'must not contain CR, LF or NUL';
  // addressparser drops some controls from a display name: refused before it sees them.
  if (hasControlCharacters(input)) return ADDRESS_CHARACTER_PROBLEM;
  if (BARE_ASCII.test(input)) {
    const problem = checkAddress(input);
    if (problem) return problem;
    return { name: '', address: input, domain: input.slice(input.lastIndexOf('@') + 1).toLowerCase() };
  }
  const parsed = addressparser(input);
  if (parsed.length !== 1) return parsed.length === 0 ? 'is not an email address' : 'must be a single address';
  const first = parsed[0]!;
  if ('group' in first) return 'must be a single address, not a group';
  const problem = checkAddress(first.address);
  if (problem) return problem;
  // addressparser is lenient: make sure the input really was "addr" or "Name <addr>".
  const trimmed = input.trim();
  if (trimmed !== first.address && !trimmed.endsWith(`<${first.address}>`)) return 'is not an email address';
  const at = first.address.lastIndexOf('@');
  return { name: first.name, address: first.address, domain: domainToASCII(first.address.slice(at + 1).toLowerCase()) };
}
