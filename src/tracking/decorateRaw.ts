import libmime from 'libmime';
import * as libqp from 'libqp';
import * as base64 from 'nodemailer/lib/base64';
import { fieldValue, MAX_LINE_OCTETS, newField, normalizeLineEnds, parseRawMessage, writeRawMessage, type HeaderField } from '../sending/rawMessage.js';
import { UNSUBSCRIBE_FIELDS } from '../sending/reservedHeaders.js';
import { htmlRewrite, type TrackingPlan } from './decorate.js';
import type { TrackingLinks } from './links.js';
import { rewriteHtml } from './rewriteHtml.js';

/**
 * Tracking for a message submitted over SMTP: the same additions as for composed content, made
 * in the submitted MIME tree. Only the first HTML body part and the first plain-text body part
 * are decoded, changed and encoded again (with their own transfer encoding); every other part,
 * every attachment, the preamble and the boundaries keep their bytes, and the parts' header
 * fields stay as written (except a Content-Transfer-Encoding that has to become
 * quoted-printable because a line grew past 998 octets).
 *
 * Why not mailparser and the composer: they would rebuild the whole message (new boundaries,
 * re-encoded attachments, refolded fields), which is another message than the client sent.
 *
 * Charsets: UTF-8 and US-ASCII are decoded as such; ISO-8859-x and windows-125x as bytes (the
 * additions are ASCII and a tracked href is ASCII). A body part in another charset (ISO-2022-JP,
 * Shift_JIS: their bytes can look like markup) is left alone.
 */
const LINE_LENGTH = 76;
const BYTE_CHARSETS = /^(us-ascii|ascii|iso-8859-\d+|windows-125\d|latin1|cp125\d)$/;

interface Part {
  fields: HeaderField[];
  body: Buffer;
}

interface Edits {
  html: ((html: string) => string) | null;
  text: ((text: string) => string) | null;
}

export function decorateRaw(raw: Buffer, messageId: string, plan: TrackingPlan, links: TrackingLinks): Buffer {
  if (!plan.opens && !plan.clicks && plan.unsubscribe === null) return raw;
  const parsed = parseRawMessage(raw);
  if (!parsed.ok) return raw;
  const unsubscribeUrl = plan.unsubscribe === null ? null : links.unsubscribeUrl(messageId);
  const edits: Edits = {
    html: (html) => rewriteHtml(html, htmlRewrite(messageId, plan, links)),
    text: plan.unsubscribe === null ? null : (text) => `${text.replace(/\r?\n$/, '')}\r\n\r\n${plan.unsubscribe}: ${unsubscribeUrl}\r\n`,
  };
  const top = editPart({ fields: parsed.message.fields, body: parsed.message.body }, edits) ?? parsed.message;
  let fields = [...top.fields];
  if (unsubscribeUrl !== null) {
    // The submitted message's own unsubscribe fields are replaced, not kept beside Mailroom's: a
    // receiver's one-click must reach Mailroom's suppression list.
    fields = fields.filter((field) => !UNSUBSCRIBE_FIELDS.has(field.key));
    fields.unshift(newField('List-Unsubscribe', `<${unsubscribeUrl}>`), newField('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'));
  }
  return writeRawMessage(fields, top.body);
}

/** Applies the edits to the first matching body parts under this one (each edit is used once); null when nothing changed. */
function editPart(part: Part, edits: Edits): Part | null {
  const type = headerValue(part.fields, 'content-type') ?? { value: 'text/plain', params: {} };
  const mediaType = type.value.toLowerCase();
  if (mediaType.startsWith('multipart/')) {
    const boundary = type.params.boundary;
    const body = boundary ? editMultipart(part.body, boundary, edits) : null;
    return body ? { fields: part.fields, body } : null;
  }
  if (headerValue(part.fields, 'content-disposition')?.value.toLowerCase() === 'attachment') return null;
  const edit = mediaType === 'text/html' ? edits.html : mediaType === 'text/plain' ? edits.text : null;
  if (!edit) return null;
  if (mediaType === 'text/html') edits.html = null;
  else edits.text = null;
  return recode(part, type.params.charset, edit);
}

/**
 * Splits a multipart body on its delimiter lines, edits the parts, and joins them again with
 * the same delimiters, preamble and epilogue; null when no part changed.
 */
function editMultipart(body: Buffer, boundary: string, edits: Edits): Buffer | null {
  const text = body.toString('latin1');
  // A delimiter line, with the CRLF before it (which belongs to the delimiter, RFC 2046 5.1.1).
  const delimiter = new RegExp(`(?:^|\\r\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?=\\r\\n|$)`, 'g');
  const marks = [...text.matchAll(delimiter)].map((match) => ({ start: match.index, end: match.index + match[0].length, closing: match[1] === '--' }));
  if (marks.length === 0) return null;
  const out: string[] = [text.slice(0, marks[0]!.start)];
  let changed = false;
  for (const [index, mark] of marks.entries()) {
    out.push(text.slice(mark.start, mark.end));
    const next = marks[index + 1];
    if (mark.closing || !next) {
      out.push(text.slice(mark.end));
      break;
    }
    const partStart = text.startsWith('\r\n', mark.end) ? mark.end + 2 : mark.end;
    out.push(text.slice(mark.end, partStart));
    const partText = text.slice(partStart, next.start);
    const parsed = edits.html || edits.text ? parseRawMessage(Buffer.from(partText, 'latin1')) : null;
    const edited = parsed?.ok ? editPart({ fields: parsed.message.fields, body: parsed.message.body }, edits) : null;
    if (edited) {
      changed = true;
      out.push(writeRawMessage(edited.fields, edited.body).toString('latin1').replace(/\r\n$/, ''));
    } else {
      out.push(partText);
    }
  }
  return changed ? Buffer.from(out.join(''), 'latin1') : null;
}

/** Decodes the part's body, edits it, and encodes it again as it was (or as quoted-printable if lines grew too long). */
function recode(part: Part, charset: string | undefined, edit: (content: string) => string): Part | null {
  const name = (charset ?? 'us-ascii').toLowerCase();
  const utf8 = name === 'utf-8' || name === 'utf8';
  if (!utf8 && !BYTE_CHARSETS.test(name)) return null;
  const encodingField = part.fields.find((field) => field.key === 'content-transfer-encoding');
  const encoding = encodingField ? fieldValue(encodingField).toLowerCase() : '7bit';
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(part.body.toString('latin1'), 'base64');
  else if (encoding === 'quoted-printable') bytes = libqp.decode(part.body.toString('latin1'));
  else if (['7bit', '8bit', 'binary'].includes(encoding)) bytes = part.body;
  else return null;
  const edited = Buffer.from(edit(bytes.toString(utf8 ? 'utf8' : 'latin1')), utf8 ? 'utf8' : 'latin1');

  if (encoding === 'base64') return { fields: part.fields, body: lines(base64.wrap(edited.toString('base64'), LINE_LENGTH)) };
  if (encoding === 'quoted-printable') return { fields: part.fields, body: lines(libqp.wrap(libqp.encode(edited), LINE_LENGTH)) };
  if (normalizeLineEnds(edited).longestLine <= MAX_LINE_OCTETS) return { fields: part.fields, body: edited };
  // A tracked href made a line too long for 7bit/8bit: this part becomes quoted-printable.
  const fields = part.fields.filter((field) => field.key !== 'content-transfer-encoding');
  fields.push(newField('Content-Transfer-Encoding', 'quoted-printable'));
  return { fields, body: lines(libqp.wrap(libqp.encode(edited), LINE_LENGTH)) };
}

/** Encoded text as a body: ended by one CRLF. */
function lines(encoded: string): Buffer {
  return Buffer.from(encoded.endsWith('\r\n') ? encoded : `${encoded}\r\n`, 'latin1');
}

function headerValue(fields: readonly HeaderField[], key: string): { value: string; params: Record<string, string> } | null {
  const field = fields.find((candidate) => candidate.key === key);
  if (!field) return null;
  const parsed = libmime.parseHeaderValue(fieldValue(field));
  return { value: parsed.value, params: Object.fromEntries(Object.entries(parsed.params).map(([param, value]) => [param.toLowerCase(), String(value)])) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
