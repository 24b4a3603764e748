import { randomBytes } from 'node:crypto';
import { ApiError } from '../shared/errors.js';
import { renderTemplate } from '../templates/render.js';
import { badRequest, type InfobipForm } from './form.js';
import { normalizeOffset } from './statuses.js';

/**
 * Infobip's send form → Mailroom send requests, one per recipient (each its own message id, as
 * Infobip gives each recipient its own messageId). What each field becomes, or why it is refused:
 * one table, so that docs/INFOBIP.md and the code say the same.
 */
type FieldRule =
  | { kind: 'text'; repeat: boolean; mailroom: string }
  | { kind: 'file'; mailroom: string }
  | { kind: 'refused'; why: string };

export const FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  from: { kind: 'text', repeat: false, mailroom: 'from' },
  to: { kind: 'text', repeat: true, mailroom: 'to (one message per recipient)' },
  cc: { kind: 'text', repeat: true, mailroom: 'cc' },
  bcc: { kind: 'text', repeat: true, mailroom: 'bcc' },
  subject: { kind: 'text', repeat: false, mailroom: 'subject' },
  text: { kind: 'text', repeat: false, mailroom: 'text' },
  html: { kind: 'text', repeat: false, mailroom: 'html' },
  templateId: { kind: 'text', repeat: false, mailroom: 'templateId (a Mailroom template id or name)' },
  attachment: { kind: 'file', mailroom: 'attachments' },
  replyTo: { kind: 'text', repeat: false, mailroom: 'replyTo' },
  defaultPlaceholders: { kind: 'text', repeat: false, mailroom: 'placeholders (under each recipient\'s own)' },
  callbackData: { kind: 'text', repeat: false, mailroom: 'clientId' },
  notifyUrl: { kind: 'text', repeat: false, mailroom: 'callbacks' },
  notifyContentType: { kind: 'text', repeat: false, mailroom: '(application/json only)' },
  intermediateReport: { kind: 'text', repeat: false, mailroom: '(every event reaches callbacks)' },
  track: { kind: 'text', repeat: false, mailroom: 'trackOpens and trackClicks' },
  trackClicks: { kind: 'text', repeat: false, mailroom: 'trackClicks' },
  trackOpens: { kind: 'text', repeat: false, mailroom: 'trackOpens' },
  bulkId: { kind: 'text', repeat: false, mailroom: 'campaignId' },
  messageId: { kind: 'text', repeat: false, mailroom: 'externalId' },
  sendAt: { kind: 'text', repeat: false, mailroom: 'sendAt' },
  headers: { kind: 'text', repeat: false, mailroom: 'headers' },
  preserveRecipients: { kind: 'text', repeat: false, mailroom: '(false only: one message per recipient)' },
  ampHtml: { kind: 'refused', why: 'AMP for email is not supported; send html (and text)' },
  inlineImage: { kind: 'refused', why: 'inline images are not supported (attachments carry no Content-ID); send the image as an attachment or link it' },
  trackingUrl: { kind: 'refused', why: 'a separate tracking URL is not supported; opens and clicks reach notifyUrl as events' },
  landingPagePlaceholders: { kind: 'refused', why: 'landing pages are not supported' },
  landingPageId: { kind: 'refused', why: 'landing pages are not supported' },
  templateLanguageVersion: { kind: 'refused', why: 'Mailroom templates are mustache ({{name}}); there is one language version' },
  applicationId: { kind: 'refused', why: 'applications and entities are not supported' },
  entityId: { kind: 'refused', why: 'applications and entities are not supported' },
  ipPoolId: { kind: 'refused', why: 'IP pools are not supported' },
  validityPeriod: { kind: 'refused', why: 'the validity period is the installation\'s retry limit (MAILROOM_MAX_RETRY_HOURS)' },
  clientPriority: { kind: 'refused', why: 'priorities are not supported' },
};

/** Mailroom's reporting ids (externalId, campaignId): what messageId and bulkId may hold. */
const REPORTING_ID = /^[A-Za-z0-9._:-]{1,256}$/;
const MAX_RECIPIENTS = 1000;

export interface MappedSend {
  bulkId: string;
  /** One request per recipient, in the order of the `to` fields (POST /emails's fields; the pipeline validates them). */
  requests: Record<string, unknown>[];
  /** The Infobip messageId each recipient was given (null: the Mailroom id will be it). */
  messageIds: (string | null)[];
  /** Each recipient as the form gave it, for the response's `to`. */
  recipients: string[];
}

interface Recipient {
  to: string;
  placeholders: Record<string, unknown>;
  messageId: string | null;
}

/** The form's send requests; every unknown or refused field is a 400 naming it. */
export function toSendRequests(form: InfobipForm, accountId: number): MappedSend {
  checkFields(form);
  const one = (name: string): string | undefined => {
    const value = form.fields.get(name)?.[0];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw badRequest(`${name} must be text.`, name);
    return value;
  };
  const many = (name: string): string[] => (form.fields.get(name) ?? []).map((value) => {
    if (typeof value !== 'string') throw badRequest(`${name} must be text.`, name);
    return value;
  });

  const recipients = (form.fields.get('to') ?? []).map(recipientOf);
  if (recipients.length === 0) throw badRequest('to is required: at least one recipient.', 'to');
  if (recipients.length > MAX_RECIPIENTS) throw badRequest(`to: at most ${MAX_RECIPIENTS} recipients per request.`, 'to');
  const messageId = one('messageId');
  if (messageId !== undefined) {
    if (recipients.length > 1) throw badRequest('messageId names one message: with several recipients, give each its own in the to JSON ({"to": ..., "messageId": ...}).', 'messageId');
    recipients[0]!.messageId ??= messageId;
  }
  for (const recipient of recipients) {
    if (recipient.messageId !== null && !REPORTING_ID.test(recipient.messageId)) {
      throw badRequest('messageId may hold only letters, digits, ".", "_", ":" and "-" (at most 256).', 'messageId');
    }
  }
  const bulkId = one('bulkId') ?? `ib-${randomBytes(12).toString('hex')}`;
  if (!REPORTING_ID.test(bulkId)) throw badRequest('bulkId may hold only letters, digits, ".", "_", ":" and "-" (at most 256).', 'bulkId');

  const notifyContentType = one('notifyContentType');
  if (notifyContentType !== undefined && notifyContentType.trim().toLowerCase() !== 'application/json') {
    throw badRequest('notifyContentType: Mailroom posts events as application/json only.', 'notifyContentType');
  }
  if (bool(one('preserveRecipients'), 'preserveRecipients') === true) {
    throw badRequest('preserveRecipients=true is not supported: Mailroom sends each recipient its own message.', 'preserveRecipients');
  }
  bool(one('intermediateReport'), 'intermediateReport');
  const track = bool(one('track'), 'track');
  const trackOpens = bool(one('trackOpens'), 'trackOpens') ?? track;
  const trackClicks = bool(one('trackClicks'), 'trackClicks') ?? track;
  const defaults = jsonObject(one('defaultPlaceholders'), 'defaultPlaceholders') ?? {};
  const headers = jsonObject(one('headers'), 'headers') as Record<string, string> | undefined;
  const notifyUrl = one('notifyUrl');
  const sendAt = one('sendAt');
  const templateId = one('templateId');
  const cc = many('cc');
  const bcc = many('bcc');

  // Left as the form gave it: the pipeline validates it (a missing from is its 400, as on POST /emails).
  const common: Record<string, unknown> = {
    ...optional('from', one('from')),
    ...optional('subject', one('subject')),
    ...optional('text', one('text')),
    ...optional('html', one('html')),
    ...optional('templateId', templateId),
    ...optional('replyTo', one('replyTo')),
    ...optional('clientId', one('callbackData')),
    ...(notifyUrl === undefined ? {} : { callbacks: [notifyUrl] }),
    ...(cc.length > 0 ? { cc } : {}),
    ...(bcc.length > 0 ? { bcc } : {}),
    ...(headers === undefined ? {} : { headers }),
    ...optional('sendAt', sendAt === undefined ? undefined : normalizeOffset(sendAt)),
    ...optional('trackOpens', trackOpens),
    ...optional('trackClicks', trackClicks),
    campaignId: bulkId,
  };
  const attachments = form.files.filter((file) => file.field === 'attachment').map((file) => ({
    filename: file.filename,
    content: file.content.toString('base64'),
    // form-data labels a Buffer application/octet-stream: Mailroom then derives the type from the name.
    ...(file.mimetype && file.mimetype !== 'application/octet-stream' ? { contentType: file.mimetype } : {}),
  }));
  if (attachments.length > 0) common.attachments = attachments;

  const requests = recipients.map((recipient): Record<string, unknown> => {
    const placeholders = { ...defaults, ...recipient.placeholders };
    const request: Record<string, unknown> = { ...common, to: recipient.to, ...(recipient.messageId === null ? {} : { externalId: recipient.messageId }) };
    if (templateId !== undefined) return Object.keys(placeholders).length === 0 ? request : { ...request, placeholders };
    // Without a template, Infobip fills {{name}} in the request's own subject, text and HTML, and
    // so does this door (with Mailroom's template renderer).
    // Infobip takes html alone, and so does the pipeline (it derives the text part).
    return Object.keys(placeholders).length === 0 ? request : { ...request, ...renderInline(accountId, request, placeholders) };
  });
  return { bulkId, requests, messageIds: recipients.map((recipient) => recipient.messageId), recipients: recipients.map((recipient) => recipient.to) };
}

function checkFields(form: InfobipForm): void {
  for (const [name, values] of form.fields) {
    const rule = FIELD_RULES[name];
    if (!rule) throw badRequest(`${name} is not a field of Infobip's email API that Mailroom knows; see docs/INFOBIP.md.`, name);
    if (rule.kind === 'refused') throw badRequest(`${name} is not supported: ${rule.why}.`, name);
    if (rule.kind === 'file') throw badRequest(`${name} must be a file part (with a filename).`, name);
    if (!rule.repeat && values.length > 1) throw badRequest(`${name} may be given once.`, name);
  }
  for (const file of form.files) {
    const rule = FIELD_RULES[file.field];
    if (rule?.kind === 'refused') throw badRequest(`${file.field} is not supported: ${rule.why}.`, file.field);
    if (rule?.kind !== 'file') throw badRequest(`${file.field} must be a text field, not a file.`, file.field);
  }
}

/** A `to` value: an address, or Infobip's JSON `{"to": ..., "placeholders": {...}, "messageId": ...}` (as text, or a part sent as application/json). */
function recipientOf(value: unknown): Recipient {
  let parsed = value;
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw badRequest('to: a value starting with "{" must be JSON: {"to": "a@example.com", "placeholders": {...}}.', 'to');
    }
  }
  if (typeof parsed === 'string') return { to: parsed, placeholders: {}, messageId: null };
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('to must be an address or {"to": ..., "placeholders": {...}}.', 'to');
  const { to, placeholders, messageId, ...rest } = parsed as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw badRequest(`to: ${unknown.join(', ')} is not supported in a recipient object (to, placeholders, messageId are).`, 'to');
  if (typeof to !== 'string') throw badRequest('to: the recipient object needs "to", an address.', 'to');
  if (messageId !== undefined && typeof messageId !== 'string') throw badRequest('to: messageId must be a string.', 'to');
  if (placeholders !== undefined && (placeholders === null || typeof placeholders !== 'object' || Array.isArray(placeholders))) {
    throw badRequest('to: placeholders must be an object of name: value.', 'to');
  }
  return { to, placeholders: (placeholders ?? {}) as Record<string, unknown>, messageId: messageId ?? null };
}

function bool(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw badRequest(`${field} must be true or false.`, field);
}

function jsonObject(value: string | undefined, field: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw badRequest(`${field} must be a JSON object.`, field);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest(`${field} must be a JSON object.`, field);
  return parsed as Record<string, unknown>;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Infobip's placeholders without a template: {{name}} in the request's own parts, by Mailroom's template renderer. */
function renderInline(accountId: number, request: Record<string, unknown>, placeholders: Record<string, unknown>): Record<string, string> {
  const part = (name: string): string | null => (typeof request[name] === 'string' ? (request[name] as string) : null);
  try {
    const rendered = renderTemplate(
      // One parse-cache slot per account and part: the cache checks the source before it reuses a parse.
      { templateId: `infobip:${accountId}`, name: 'the request', version: 0, subject: part('subject') ?? '', text: part('text'), html: part('html'), defaults: {} },
      placeholders,
    );
    return {
      ...(part('subject') === null ? {} : { subject: rendered.subject }),
      ...(rendered.text === null ? {} : { text: rendered.text }),
      ...(rendered.html === null ? {} : { html: rendered.html }),
    };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw badRequest(`The subject, text or html is not a valid {{placeholder}} template: ${(error as Error).message}.`, 'text');
  }
}
