import libmime from 'libmime';

/**
 * A submitted MIME message as the pipeline handles it: the header fields, byte for byte (as a
 * latin1 string, one character per byte, so that writing them back changes nothing that a
 * client's DKIM signature or a receiver could notice), and the body, untouched.
 *
 * Why not mailparser or mailsplit here: the pipeline needs only the header block (a few fields
 * to read, a few to remove or add), and parsing the whole MIME tree costs about 200 µs for a
 * 1 KB message, more than everything else SMTP acceptance does. The body is never parsed at
 * acceptance; GET /emails/{id} parses it with mailparser when someone asks.
 */
export interface HeaderField {
  /** Lower-case field name. */
  key: string;
  /** The whole field with its folding and its final CRLF, latin1. */
  raw: string;
}

export interface RawMessage {
  fields: HeaderField[];
  body: Buffer;
  /** Longest line in octets, line end excluded. */
  longestLine: number;
}

export type RawParse = { ok: true; message: RawMessage } | { ok: false; problem: string };

/** RFC 5322 2.1.1: a line is at most 998 octets; more breaks receivers and DKIM. */
export const MAX_LINE_OCTETS = 998;
const CR = 0x0d;
const LF = 0x0a;
const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * Line ends made CRLF (a client that sent bare LF would otherwise see its message signed over
 * other bytes than it arrives with), the longest line measured in the same pass.
 */
export function normalizeLineEnds(input: Buffer): { bytes: Buffer; longestLine: number } {
  let bareLf = 0;
  let longest = 0;
  let lineStart = 0;
  for (let at = input.indexOf(LF); at !== -1; at = input.indexOf(LF, at + 1)) {
    const crlf = at > 0 && input[at - 1] === CR;
    if (!crlf) bareLf++;
    const length = at - lineStart - (crlf ? 1 : 0);
    if (length > longest) longest = length;
    lineStart = at + 1;
  }
  if (input.length - lineStart > longest) longest = input.length - lineStart;
  const unterminated = lineStart < input.length;
  if (bareLf === 0 && !unterminated) return { bytes: input, longestLine: longest };
  const out = Buffer.allocUnsafe(input.length + bareLf + (unterminated ? 2 : 0));
  let written = 0;
  let from = 0;
  for (let at = input.indexOf(LF); at !== -1; at = input.indexOf(LF, at + 1)) {
    if (at > 0 && input[at - 1] === CR) continue;
    written += input.copy(out, written, from, at);
    out[written++] = CR;
    out[written++] = LF;
    from = at + 1;
  }
  written += input.copy(out, written, from);
  if (unterminated) {
    out[written++] = CR;
    out[written++] = LF;
  }
  return { bytes: out.subarray(0, written), longestLine: longest };
}

/** Splits the message into header fields and body; a header line that is no field is a problem. */
export function parseRawMessage(input: Buffer): RawParse {
  const { bytes, longestLine } = normalizeLineEnds(input);
  let headerEnd: number;
  let bodyStart: number;
  if (bytes.subarray(0, 2).toString('latin1') === '\r\n') {
    headerEnd = 0;
    bodyStart = 2;
  } else {
    const blank = bytes.indexOf('\r\n\r\n');
    headerEnd = blank === -1 ? bytes.length : blank + 2;
    bodyStart = blank === -1 ? bytes.length : blank + 4;
  }
  const header = bytes.subarray(0, headerEnd).toString('latin1');
  const fields: HeaderField[] = [];
  const lines = header.split('\r\n');
  lines.pop(); // after the last CRLF
  for (const [index, line] of lines.entries()) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = fields.at(-1);
      if (!last) return { ok: false, problem: 'the message starts with a folded line' };
      last.raw += `${line}\r\n`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trimEnd() : '';
    if (!FIELD_NAME.test(name)) return { ok: false, problem: `header line ${index + 1} is not a header field (name: value)` };
    fields.push({ key: name.toLowerCase(), raw: `${line}\r\n` });
  }
  return { ok: true, message: { fields, body: bytes.subarray(bodyStart), longestLine } };
}

/** The unfolded value of a field, with RFC 2047 encoded words decoded; UTF-8 (RFC 6532) is read as such. */
export function fieldValue(field: HeaderField): string {
  const value = field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n(?=[ \t])/g, '').replace(/\r\n$/, '').trim();
  const text = /^[\t\x20-\x7e]*$/.test(value) ? value : Buffer.from(value, 'latin1').toString('utf8');
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

export function findField(message: RawMessage, key: string): HeaderField | undefined {
  return message.fields.find((field) => field.key === key);
}

export function countFields(message: RawMessage, key: string): number {
  return message.fields.reduce((count, field) => count + (field.key === key ? 1 : 0), 0);
}

/** The bytes of the message with these fields (as latin1 strings) and the original body. */
export function writeRawMessage(fields: readonly HeaderField[], body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${fields.map((field) => field.raw).join('')}\r\n`, 'latin1'), body]);
}

/** A new header field, folded as RFC 5322 asks (the value must already be ASCII or encoded). */
export function newField(name: string, value: string): HeaderField {
  return { key: name.toLowerCase(), raw: `${libmime.foldLines(`${name}: ${value}`, 76)}\r\n` };
}
