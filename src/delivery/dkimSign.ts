import { createHash, sign, type KeyObject } from 'node:crypto';

/**
 * DKIM signing (RFC 6376, relaxed/relaxed; rsa-sha256, and ed25519-sha256 per RFC 8463) of a
 * finished message.
 *
 * Why our own rather than mailauth's dkimSign: the worker signs every message, and mailauth
 * parses the PEM private key again on each call (about 750 µs for RSA-2048) and streams the
 * message through its parser, about 1.2 ms of CPU per message in all; with a parsed KeyObject
 * kept per domain this costs about 0.3 ms, almost all of it the RSA operation itself. mailauth's
 * verifier and dkimpy (interop suite) check what this produces.
 *
 * The private-key operation runs on libuv's thread pool (crypto.sign with a callback), so the
 * event loop only canonicalizes and hashes, and signing spreads over the cores
 * (UV_THREADPOOL_SIZE threads, 4 by default) without copying messages to worker threads.
 */
export interface SignatureSpec {
  domain: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  key: KeyObject;
}

const CRLF = '\r\n';

/** Returns the DKIM-Signature header fields (each ending in CRLF) to put on top of `raw`. */
export async function dkimSignatures(raw: Buffer, headerNames: readonly string[], specs: readonly SignatureSpec[], now = new Date()): Promise<string> {
  // latin1 maps bytes to characters one to one, so hashing the string back as latin1 hashes the bytes sent.
  const text = raw.toString('latin1');
  const split = text.indexOf(CRLF + CRLF);
  const headerText = split >= 0 ? text.slice(0, split + 2) : text.endsWith(CRLF) ? text : text + CRLF;
  const body = split >= 0 ? text.slice(split + 4) : '';
  const bodyHash = createHash('sha256').update(canonicalBody(body), 'latin1').digest('base64');
  const fields = parseHeaderFields(headerText);
  const { names, canonical } = selectHeaders(fields, headerNames);
  const timestamp = Math.floor(now.getTime() / 1000);

  const headers = specs.map((spec) => {
    const tags = [
      'v=1', `a=${spec.algorithm}`, 'c=relaxed/relaxed', `d=${spec.domain}`, `s=${spec.selector}`, `t=${timestamp}`,
      `h=${names.join(':')}`, `bh=${bodyHash}`,
    ];
    const unsigned = `DKIM-Signature: ${foldTags(tags)};${CRLF}\tb=`;
    // The signature covers the selected headers, then this header with an empty b= and no CRLF.
    const data = canonical + canonicalHeader(unsigned);
    const signature = spec.algorithm === 'rsa-sha256'
      ? signOnPool('sha256', Buffer.from(data, 'latin1'), spec.key)
      : signOnPool(null, createHash('sha256').update(data, 'latin1').digest(), spec.key);
    return signature.then((value) => unsigned + foldBase64(value.toString('base64')) + CRLF);
  });
  return (await Promise.all(headers)).join('');
}

function signOnPool(algorithm: string | null, data: Buffer, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => sign(algorithm, data, key, (error, signature) => (error ? reject(error) : resolve(signature))));
}

interface HeaderField {
  name: string;
  /** The whole field as sent, folded lines included, without the final CRLF. */
  raw: string;
}

function parseHeaderFields(headerText: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of headerText.split(CRLF)) {
    if (line === '') continue;
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) last.raw += CRLF + line;
    else fields.push({ name: line.slice(0, line.indexOf(':')).trim().toLowerCase(), raw: line });
  }
  return fields;
}

/**
 * Picks the fields to sign in the order of `names`; a name present several times is signed
 * once per occurrence, from the bottom up (RFC 6376 section 5.4.2). Absent names are left out.
 */
function selectHeaders(fields: readonly HeaderField[], wanted: readonly string[]): { names: string[]; canonical: string } {
  const names: string[] = [];
  let canonical = '';
  for (const name of wanted.map((entry) => entry.toLowerCase())) {
    const matching = fields.filter((field) => field.name === name);
    for (let i = matching.length - 1; i >= 0; i--) {
      names.push(name);
      canonical += canonicalHeader(matching[i]!.raw) + CRLF;
    }
  }
  return { names, canonical };
}

/** Relaxed header canonicalization (RFC 6376 section 3.4.2). */
export function canonicalHeader(field: string): string {
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).trim().toLowerCase();
  const value = field.slice(colon + 1).replace(/\r\n(?=[ \t])/g, '').replace(/[ \t]+/g, ' ').trim();
  return `${name}:${value}`;
}

/** Relaxed body canonicalization (RFC 6376 section 3.4.4). */
export function canonicalBody(body: string): string {
  const lines = body.replace(/[ \t]+\r\n/g, CRLF).replace(/[ \t]+/g, ' ').replace(/[ \t]+$/, '');
  const trimmed = lines.replace(/(\r\n)+$/, '');
  return trimmed === '' ? '' : trimmed + CRLF;
}

/** One tag per line keeps every line far below the 998-octet limit, whatever h= holds. */
function foldTags(tags: readonly string[]): string {
  return tags.join(`;${CRLF}\t`);
}

/** Whitespace inside b= is ignored by verifiers (RFC 6376 section 3.5), so it is folded at 72. */
function foldBase64(value: string): string {
  const lines: string[] = [];
  for (let i = 0; i < value.length; i += 72) lines.push(value.slice(i, i + 72));
  return lines.join(`${CRLF}\t`);
}
