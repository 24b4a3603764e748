import { createHash } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import type { Principal } from '../accounts/apiKeys.js';
import { ApiError, validationError, type ErrorDetail } from '../shared/errors.js';
import { newMessageId } from '../shared/ids.js';
import { parseMailbox, type ParsedAddress } from './addresses.js';
import { MAILROOM_PREFIX, readMailroomOptions, type MailroomOptions } from './mailroomHeaders.js';
import { countFields, fieldValue, findField, MAX_LINE_OCTETS, newField, parseRawMessage, writeRawMessage, type HeaderField } from './rawMessage.js';
import type { RawContent } from './render.js';
import { callbackUrls, type NewMessage, type Submission } from './store.js';
import { MAX_MESSAGE_BYTES } from './validate.js';

/** A message as an SMTP client submitted it: the envelope and the DATA bytes. */
export interface RawSubmissionInput {
  envelopeFrom: string;
  recipients: readonly string[];
  raw: Buffer;
}

export interface PreparedRaw {
  submission: Submission;
  /** One message id per recipient, in envelope order. */
  ids: string[];
  options: MailroomOptions;
  /** What an Idempotency-Key compares: the envelope and the bytes as submitted (computed only when asked). */
  requestDigest(): string;
  from: ParsedAddress;
}

/** Fields that never leave Mailroom: Bcc (RFC 5321 7.2), Return-Path (set by the final receiver), and the Mailroom fields. */
function removedOnSubmission(field: HeaderField): boolean {
  return field.key === 'bcc' || field.key === 'return-path' || field.key.startsWith(MAILROOM_PREFIX);
}

const invalid = (message: string, details: ErrorDetail[]) => validationError(details, message);

/**
 * The validate and render steps of the pipeline for a submitted MIME message: the header block is
 * checked (one From, lines of at most 998 octets, at most 10 MB), the Mailroom fields are read
 * and removed with Bcc, Message-ID and Date are added when missing (RFC 6409 8.2, 8.3), and each
 * envelope recipient gets its own message row over one shared body.
 */
export function prepareRawSubmission(principal: Principal, input: RawSubmissionInput, now: Date): PreparedRaw {
  if (input.raw.length > MAX_MESSAGE_BYTES) {
    throw new ApiError(413, 'MESSAGE_TOO_LARGE', `The message is ${input.raw.length} bytes; at most ${MAX_MESSAGE_BYTES} bytes are allowed.`);
  }
  // RFC 5321 2.3.8 and 4.1.4: NUL is never part of a message on the wire (8BITMIME included), no
  // receiver has to take it, and the catcher's text column cannot hold it. Refused here, before
  // anything is stored: accepted, it could only fail every attempt for 72 hours.
  if (input.raw.includes(0)) {
    throw invalid('The message contains a NUL character, which SMTP does not carry: encode binary content (base64).', [{ field: 'message', message: 'contains a NUL character' }]);
  }
  const parsed = parseRawMessage(input.raw);
  if (!parsed.ok) throw invalid(`The message is malformed: ${parsed.problem}.`, [{ field: 'message', message: parsed.problem }]);
  const message = parsed.message;
  if (message.longestLine > MAX_LINE_OCTETS) {
    throw invalid(`The message has a line of ${message.longestLine} octets; at most ${MAX_LINE_OCTETS} are allowed, as RFC 5322 requires: encode long lines with quoted-printable or base64.`, [
      { field: 'message', message: `has a line longer than ${MAX_LINE_OCTETS} octets` },
    ]);
  }

  // PostgreSQL text cannot hold NUL: a header with one (raw, or encoded as =00) is the sender's
  // error, answered as such, not an internal one.
  for (const field of message.fields) {
    if (field.raw.includes('\0') || (field.raw.includes('=?') && fieldValue(field).includes('\0'))) {
      throw invalid(`The header field ${field.raw.slice(0, field.raw.indexOf(':'))} contains a NUL character.`, [{ field: 'message', message: 'has a header field with a NUL character' }]);
    }
  }
  const fromField = findField(message, 'from');
  if (!fromField) throw invalid('The message has no From header field.', [{ field: 'From', message: 'is required' }]);
  if (countFields(message, 'from') > 1) throw invalid('The message has more than one From header field.', [{ field: 'From', message: 'must appear once' }]);
  const fromText = fieldValue(fromField);
  // A TAB in a header field is folding whitespace (RFC 5322 3.2.2), read as a space; parseMailbox
  // refuses control characters in what a caller gives as a display name.
  const from = parseMailbox(fromText.replace(/\t/g, ' '));
  if (typeof from === 'string') throw invalid(`The From header field ${from}.`, [{ field: 'From', message: from }]);

  const { options, details } = readMailroomOptions(message.fields);
  if (details.length > 0) throw invalid(`A Mailroom header field is not valid: ${details.map((detail) => `${detail.field} ${detail.message}`).join('; ')}.`, details);

  const recipients: ParsedAddress[] = [];
  for (const [index, address] of input.recipients.entries()) {
    const recipient = parseMailbox(address);
    if (typeof recipient === 'string') throw invalid(`The recipient ${address} ${recipient}.`, [{ field: `recipients[${index}]`, message: recipient }]);
    recipients.push(recipient);
  }
  if (recipients.length === 0) throw invalid('The message has no recipients.', [{ field: 'recipients', message: 'at least one is required' }]);

  const ids = recipients.map(() => newMessageId(now.getTime()));
  const fields = message.fields.filter((field) => !removedOnSubmission(field));
  const messageIdField = findField(message, 'message-id');
  const messageIdHeader = messageIdField ? fieldValue(messageIdField) : `<${ids[0]}@${from.domain}>`;
  if (!messageIdField) fields.push(newField('Message-ID', messageIdHeader));
  if (!findField(message, 'date')) fields.push(newField('Date', now.toUTCString().replace('GMT', '+0000')));
  const bytes = writeRawMessage(fields, message.body);

  const subjectField = findField(message, 'subject');
  const subject = subjectField ? fieldValue(subjectField) : '';
  const cc = headerAddresses(message.fields, 'cc');
  const listed = new Set([...headerAddresses(message.fields, 'to'), ...cc]);
  const bcc = recipients.map((recipient) => recipient.address).filter((address) => !listed.has(address.toLowerCase()));
  const bodyId = ids[0]!;
  const createdAt = now.toISOString();
  const rows: NewMessage[] = recipients.map((recipient, index) => {
    const content: RawContent = {
      kind: 'raw',
      bodyId,
      to: recipient.address,
      from: fromText,
      subject,
      cc,
      bcc,
      size: bytes.length,
      type: options.type,
      trackOpens: options.trackOpens,
      trackClicks: options.trackClicks,
    };
    return {
      id: ids[index]!,
      account_id: principal.accountId,
      operator_id: principal.operatorId,
      status: 'QUEUED',
      to_address: recipient.address.toLowerCase(),
      from_address: from.address.toLowerCase(),
      subject,
      external_id: options.externalId,
      client_id: options.clientId,
      alias: null,
      campaign_id: options.campaignId,
      callbacks: options.callbacks,
      callback_urls: callbackUrls(options.callbacks),
      tags: options.tags,
      envelope: { from: from.address, to: [recipient.address] },
      content,
      message_id_hdr: messageIdHeader,
      send_at: null,
      created_at: createdAt,
      domain: recipient.domain,
      due_at: createdAt,
      // The raw body's bytes: every recipient's row points at one body of this size.
      size: 1024 + bytes.length,
    };
  });
  const requestDigest = () =>
    createHash('sha256').update(`${input.envelopeFrom}\n${input.recipients.join(',')}\n`).update(input.raw).digest('hex');
  return {
    submission: { rows, bodies: [{ id: bodyId, account_id: principal.accountId, raw: bytes, created_at: createdAt }] },
    ids,
    options,
    requestDigest,
    from,
  };
}

/** Lower-case addresses of every To or Cc field. */
function headerAddresses(fields: readonly HeaderField[], key: 'to' | 'cc'): string[] {
  const addresses: string[] = [];
  for (const field of fields) {
    if (field.key !== key) continue;
    const walk = (entries: ReturnType<typeof addressparser>) => {
      for (const entry of entries) {
        if ('group' in entry && entry.group) walk(entry.group);
        else if (entry.address) addresses.push(entry.address.toLowerCase());
      }
    };
    walk(addressparser(fieldValue(field)));
  }
  return addresses;
}
