import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { ErrorDetail } from '../shared/errors.js';
import { parseMailbox, type ParsedAddress } from './addresses.js';
import { reservedHeaderReason } from './reservedHeaders.js';
import { SendRequestShape, type CompleteSendRequest } from './schema.js';
import { isStorableText } from '../shared/storable.js';

const checkShape = TypeCompiler.Compile(SendRequestShape);

/** The seed's 10 MB, counted over subject, bodies and decoded attachments. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
const MAX_SCHEDULE_MS = 30 * 24 * 3600 * 1000;
export const REPORTING_ID = /^[A-Za-z0-9._:-]+$/;
export const TAG = /^[A-Za-z0-9._:-]+$/;
const HEADER_NAME = /^[!-9;-~]+$/;
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;

export interface ValidAttachment {
  filename: string;
  content: string;
  contentType: string | null;
  size: number;
}

export interface ValidMessage {
  request: CompleteSendRequest;
  to: ParsedAddress;
  from: ParsedAddress;
  cc: ParsedAddress[];
  bcc: ParsedAddress[];
  replyTo: ParsedAddress | null;
  attachments: ValidAttachment[];
  sendAt: Date | null;
  size: number;
}

export type Validation = { ok: true; message: ValidMessage } | { ok: false; tooLarge: boolean; details: ErrorDetail[] };

function fieldOf(path: string): string {
  return path
    .replace(/^\//, '')
    .split('/')
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : part))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** The values a union of literals allows ("transactional", "marketing"), which its error lists rather than "Expected union value". */
function literalsOf(schema: object): string[] | null {
  const branches = 'anyOf' in schema ? schema.anyOf : null;
  if (!Array.isArray(branches) || branches.length === 0) return null;
  const values = branches.map((branch: { const?: unknown }) => branch?.const);
  return values.every((value) => typeof value === 'string' || typeof value === 'number') ? values.map(String) : null;
}

function shapeErrors(value: unknown): ErrorDetail[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ field: '', message: 'the body must be a JSON object' }];
  }
  // text and subject are optional in the schema only because a template can give them.
  const details: ErrorDetail[] = [];
  const required = ['to', 'from', 'text', 'subject'] as const;
  for (const field of required) {
    if (!(field in value)) details.push({ field, message: 'templateId' in value ? 'is required (the template has none)' : 'is required' });
  }
  if (checkShape.Check(value)) return details;
  const seen = new Set(details.map((detail) => detail.field));
  for (const error of checkShape.Errors(value)) {
    const field = fieldOf(error.path);
    const allowed = literalsOf(error.schema);
    const message = allowed ? `must be one of: ${allowed.join(', ')}` : error.message.replace(/^Expected/, 'must be').replace(/^Unexpected property/, 'is not a known field');
    if (seen.has(field)) continue;
    seen.add(field);
    details.push({ field, message: message.charAt(0).toLowerCase() + message.slice(1) });
  }
  return details;
}

function mailbox(field: string, input: string, details: ErrorDetail[]): ParsedAddress | null {
  const parsed = parseMailbox(input);
  if (typeof parsed === 'string') {
    details.push({ field, message: parsed });
    return null;
  }
  return parsed;
}

function noLineBreaks(field: string, value: string | undefined, details: ErrorDetail[]): void {
  if (value !== undefined && /[\r\n\0]/.test(value)) details.push({ field, message: 'must not contain CR, LF or NUL' });
}

function unencodableText(value: unknown, field: string, details: ErrorDetail[]): void {
  if (typeof value === 'string') {
    if (!isStorableText(value)) details.push({ field, message: 'contains a NUL character or an unpaired UTF-16 surrogate' });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => unencodableText(item, `${field}[${index}]`, details));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableText(key)) details.push({ field: field ? `${field}.${key}` : key, message: 'has a name with a NUL character or an unpaired UTF-16 surrogate' });
      unencodableText(item, field ? `${field}.${key}` : key, details);
    }
  }
}

/**
 * The shape alone (types, lengths, bounds, storable text), before a template is looked up: the
 * look-up takes templateId and templateVersion to SQL, so they must be storable and in range
 * first. What may still come from the template (text, subject) is not required yet.
 */
export function checkBeforeTemplate(value: unknown): ErrorDetail[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [{ field: '', message: 'the body must be a JSON object' }];
  const details = checkShape.Check(value) ? [] : shapeErrors(value).filter((detail) => !(['to', 'from', 'text', 'subject'].includes(detail.field) && detail.message.startsWith('is required')));
  if (details.length === 0) unencodableText(value, '', details);
  return details;
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;

/** Date.parse rolls 30 February over into March; a send time must name a real instant. */
function parseSendAt(text: string): Date | null {
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second = '0', offsetHours = '0', offsetMinutes = '0'] = match.slice(1).map((part) => part ?? '0');
  const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > daysInMonth) return null;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59 || Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Checks one send request; on success returns it with parsed addresses and decoded sizes. */
/** `textChecked`: checkBeforeTemplate already walked this very value for unstorable text (no template changed it). */
export function validateSendRequest(value: unknown, now: Date, textChecked = false): Validation {
  const shape = shapeErrors(value);
  if (shape.length > 0) return { ok: false, tooLarge: false, details: shape };
  const request = value as CompleteSendRequest;
  const details: ErrorDetail[] = [];
  if (!textChecked) unencodableText(request, '', details);
  if (details.length > 0) return { ok: false, tooLarge: false, details };

  const to = mailbox('to', request.to, details);
  const from = mailbox('from', request.from, details);
  const cc = (request.cc ?? []).map((entry, index) => mailbox(`cc[${index}]`, entry, details));
  const bcc = (request.bcc ?? []).map((entry, index) => mailbox(`bcc[${index}]`, entry, details));
  const replyTo = request.replyTo === undefined ? null : mailbox('replyTo', request.replyTo, details);

  // Without a template they would fill nothing, and the caller would never learn why.
  for (const field of ['placeholders', 'templateVersion'] as const) {
    if (request[field] !== undefined && request.templateId === undefined) details.push({ field, message: 'needs a templateId: it applies to a template' });
  }
  noLineBreaks('subject', request.subject, details);
  noLineBreaks('alias', request.alias, details);
  noLineBreaks('clientId', request.clientId, details);
  for (const field of ['externalId', 'campaignId'] as const) {
    const id = request[field];
    if (id !== undefined && !REPORTING_ID.test(id)) details.push({ field, message: 'may hold only letters, digits, ".", "_", ":" and "-"' });
  }
  (request.tags ?? []).forEach((tag, index) => {
    if (!TAG.test(tag)) details.push({ field: `tags[${index}]`, message: 'may hold only letters, digits, ".", "_", ":" and "-"' });
  });
  (request.callbacks ?? []).forEach((callback, index) => noLineBreaks(`callbacks[${index}]`, callback, details));
  for (const [name, headerValue] of Object.entries(request.headers ?? {})) {
    const field = `headers.${name}`;
    const reserved = reservedHeaderReason(name);
    if (!HEADER_NAME.test(name) || name.length > 76) details.push({ field, message: 'is not a valid header name' });
    else if (reserved) details.push({ field, message: reserved });
    noLineBreaks(field, headerValue, details);
  }

  let sendAt: Date | null = null;
  if (request.sendAt !== undefined) {
    const parsed = parseSendAt(request.sendAt);
    if (!parsed) details.push({ field: 'sendAt', message: 'must be an ISO 8601 date-time with a time zone' });
    else if (parsed.getTime() - now.getTime() > MAX_SCHEDULE_MS) details.push({ field: 'sendAt', message: 'must be at most 30 days ahead' });
    else sendAt = parsed.getTime() > now.getTime() ? parsed : null;
  }

  const attachments: ValidAttachment[] = [];
  (request.attachments ?? []).forEach((attachment, index) => {
    noLineBreaks(`attachments[${index}].filename`, attachment.filename, details);
    noLineBreaks(`attachments[${index}].contentType`, attachment.contentType, details);
    if (attachment.contentType !== undefined && !/^[\w.+-]+\/[\w.+-]+$/.test(attachment.contentType)) {
      details.push({ field: `attachments[${index}].contentType`, message: 'must be a MIME type such as application/pdf' });
    }
    const compact = attachment.content.replace(/[\r\n]/g, '');
    if (!BASE64.test(attachment.content) || compact.length % 4 !== 0) {
      details.push({ field: `attachments[${index}].content`, message: 'must be base64' });
      return;
    }
    const size = Buffer.byteLength(compact, 'base64');
    attachments.push({ filename: attachment.filename, content: compact, contentType: attachment.contentType ?? null, size });
  });

  const size =
    Buffer.byteLength(request.subject) +
    Buffer.byteLength(request.text) +
    (request.html ? Buffer.byteLength(request.html) : 0) +
    attachments.reduce((sum, attachment) => sum + attachment.size, 0);
  if (size > MAX_MESSAGE_BYTES) {
    return { ok: false, tooLarge: true, details: [{ field: '', message: `the message is ${size} bytes; at most ${MAX_MESSAGE_BYTES} bytes are allowed, attachments included` }] };
  }
  if (details.length > 0 || !to || !from) return { ok: false, tooLarge: false, details };
  return {
    ok: true,
    message: {
      request,
      to,
      from,
      cc: cc.filter((entry): entry is ParsedAddress => entry !== null),
      bcc: bcc.filter((entry): entry is ParsedAddress => entry !== null),
      replyTo,
      attachments,
      sendAt,
      size,
    },
  };
}
