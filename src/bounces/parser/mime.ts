import libmime from 'libmime';
import { decode as decodeQuotedPrintable } from 'libqp';

/**
 * A small synchronous MIME walker. Bounces are read whole and often malformed (a missing final
 * boundary, a part with no headers, a 7-bit ISO-2022-JP body with no charset), so the walker is
 * forgiving where a full parser would give up, and never throws.
 */
export interface MimePart {
  /** Lower-cased header names, values unfolded and with encoded words decoded, in order. */
  headers: Array<[string, string]>;
  /** Lower-cased media type, 'text/plain' when absent (RFC 2045 default). */
  type: string;
  params: Record<string, string>;
  /** The body after transfer decoding, as text in its declared charset. */
  text: string;
  /** Sub-parts of a multipart, or the one message of a message/rfc822 part. */
  children: MimePart[];
}

export function header(part: MimePart, name: string): string | undefined {
  return part.headers.find(([key]) => key === name)?.[1];
}

/** Input is held as a binary string (one char per byte) until a charset says how to read it. */
export function parseMessage(raw: Buffer | string): MimePart {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  // A message saved from an mbox starts with its "From " separator line, which is no header.
  const binary = bytes.toString('latin1').replace(/\r\n?/g, '\n').replace(/^From [^\n]*\n/, '');
  return parsePart(binary, 0);
}

const MAX_DEPTH = 8;

function parsePart(binary: string, depth: number): MimePart {
  const { headerBlock, body } = splitHead(binary);
  const headers = parseHeaderBlock(headerBlock);
  const contentType = libmime.parseHeaderValue(headers.find(([key]) => key === 'content-type')?.[1] ?? 'text/plain');
  const type = contentType.value.toLowerCase().trim() || 'text/plain';
  // Parameter names are case-insensitive (BOUNDARY= is seen in the wild).
  const params = Object.fromEntries(Object.entries(contentType.params).map(([key, value]) => [key.toLowerCase(), value]));
  const encoding = (headers.find(([key]) => key === 'content-transfer-encoding')?.[1] ?? '').toLowerCase().trim();
  const part: MimePart = { headers, type, params, text: '', children: [] };
  if (depth >= MAX_DEPTH) return part;

  if (type.startsWith('multipart/')) {
    const boundary = [params.boundary, guessBoundary(body)].find((candidate) => candidate && body.includes(`--${candidate}`));
    if (boundary) {
      part.children = splitMultipart(body, boundary).map((chunk) => parsePart(chunk, depth + 1));
      return part;
    }
    // Declared multipart, written as plain text: read it as text rather than lose it.
    part.text = toText(body, undefined);
    return part;
  }
  const decoded = transferDecode(body, encoding);
  if (type === 'message/rfc822' || type === 'message/global') {
    part.children = [parsePart(decoded, depth + 1)];
  }
  part.text = toText(decoded, params.charset);
  return part;
}

function splitHead(binary: string): { headerBlock: string; body: string } {
  // A part may start straight with its body (no headers, then no blank line either).
  if (binary.startsWith('\n')) return { headerBlock: '', body: binary.slice(1) };
  const end = binary.indexOf('\n\n');
  const head = end === -1 ? binary : binary.slice(0, end);
  if (!/^[\x21-\x39\x3b-\x7e]+:/.test(head)) return { headerBlock: '', body: binary };
  return { headerBlock: head, body: end === -1 ? '' : binary.slice(end + 2) };
}

/** "Name: value" lines with folded continuations; also used for DSN and ARF field blocks. */
export function parseHeaderBlock(block: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const line of block.split('\n')) {
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon).trim()) ) continue;
    fields.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return fields.map(([name, value]) => [name, decodeHeaderValue(value)]);
}

function decodeHeaderValue(binary: string): string {
  const text = toText(binary, 'utf-8');
  try {
    return libmime.decodeWords(text).replace(/\s+/g, ' ').trim();
  } catch {
    return text.replace(/\s+/g, ' ').trim();
  }
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const chunks: string[] = [];
  let current: string[] | null = null;
  for (const line of body.split('\n')) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current) chunks.push(current.join('\n'));
      current = trimmed === delimiter ? [] : null;
      if (trimmed !== delimiter) break;
      continue;
    }
    current?.push(line);
  }
  // A report cut short loses its closing boundary; the last part is still worth reading.
  if (current && current.length > 0) chunks.push(current.join('\n'));
  return chunks;
}

/**
 * Anonymised or hand-edited reports may declare one boundary and use another, or fold the
 * boundary parameter onto an unindented line: the first "--token" line that comes back is it.
 */
function guessBoundary(body: string): string | undefined {
  const lines = body.split('\n').map((line) => line.trimEnd());
  for (const line of lines) {
    const match = /^--(\S{6,}?)(?:--)?$/.exec(line);
    if (match?.[1] && lines.filter((other) => other.startsWith(`--${match[1]}`)).length >= 2) return match[1];
  }
  return undefined;
}

function transferDecode(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body).toString('latin1');
  return body;
}

/** Reads a binary string in its charset; undeclared 8-bit text is most often UTF-8, 7-bit escapes mean ISO-2022-JP. */
export function toText(binary: string, charset: string | undefined): string {
  const bytes = Buffer.from(binary, 'latin1');
  const declared = (charset ?? '').toLowerCase().trim();
  let label = declared;
  if (!label || label === 'us-ascii' || label === 'ascii') label = bytes.includes(0x1b) ? 'iso-2022-jp' : 'utf-8';
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** Every part, depth first, in the order the message lists them. */
export function walk(part: MimePart): MimePart[] {
  return [part, ...part.children.flatMap(walk)];
}
