import { Type, type Static } from '@sinclair/typebox';
import { INT32_MAX } from '../shared/storable.js';

/**
 * The `POST /emails` request, declared once: the HTTP route documents it in OpenAPI and the
 * pipeline validates every message (single or bulk) against it before its own semantic checks.
 */
const Text = (maxLength: number, description: string) => Type.String({ maxLength, description });

export const Attachment = Type.Object(
  {
    filename: Type.String({ minLength: 1, maxLength: 255, description: 'file name shown to the recipient' }),
    content: Type.String({ minLength: 1, description: 'file content, base64' }),
    contentType: Type.Optional(Type.String({ maxLength: 255, description: 'MIME type; derived from the file name when absent' })),
  },
  { additionalProperties: false },
);

const SEND_FIELDS = {
    to: Text(512, 'recipient address, "addr" or "Name <addr>"'),
    from: Text(512, 'a verified sender address of the account, "addr" or "Name <addr>"'),
    text: Type.String({ minLength: 1, description: 'content, plain text or HTML (HTML is detected); may be left out when templateId gives it' }),
    subject: Text(998, 'subject line; may be left out when templateId gives it'),
    externalId: Type.Optional(Text(256, 'alphanumeric reporting id')),
    clientId: Type.Optional(Text(256, "the caller's id for the recipient, returned in callbacks")),
    callbacks: Type.Optional(Type.Array(Text(2048, 'URL notified of status changes'), { maxItems: 10 })),
    alias: Type.Optional(Text(256, 'a label for the recipient')),
    html: Type.Optional(Type.String({ description: 'HTML body; when given, text is the plain-text part' })),
    cc: Type.Optional(Type.Array(Text(512, 'address'), { maxItems: 50 })),
    bcc: Type.Optional(Type.Array(Text(512, 'address'), { maxItems: 50 })),
    replyTo: Type.Optional(Text(512, 'Reply-To address')),
    headers: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 998 }), { maxProperties: 50 })),
    attachments: Type.Optional(Type.Array(Attachment, { maxItems: 50 })),
    campaignId: Type.Optional(Text(256, 'campaign this message belongs to')),
    tags: Type.Optional(Type.Array(Text(64, 'tag'), { maxItems: 20 })),
    sendAt: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 time to send at (status SCHEDULED)' })),
    trackOpens: Type.Optional(Type.Boolean()),
    trackClicks: Type.Optional(Type.Boolean()),
    type: Type.Optional(Type.Union([Type.Literal('transactional'), Type.Literal('marketing')])),
    templateId: Type.Optional(Text(256, 'a template of the account (id or name): subject, text and HTML come from it unless given here')),
    templateVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: INT32_MAX, description: 'a version of the template; default the latest' })),
    placeholders: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Union([Type.String({ maxLength: 100_000 }), Type.Number(), Type.Boolean()]), {
      maxProperties: 200, description: "this recipient's values for the template's {{placeholders}}, over the template's defaults",
    })),
};

/** One message's request as documented (OpenAPI): the seed's request, text and subject required; each of POST /emails/bulk's messages. */
export const SendRequest = Type.Object(SEND_FIELDS, { additionalProperties: false });
/**
 * POST /emails as documented: `to` also an array (one message per address, src/sending/recipients.ts),
 * and `html` may stand without `text` (the text part is derived from it).
 */
export const SendEmailRequest = Type.Object(
  {
    ...SEND_FIELDS,
    to: Type.Union([SEND_FIELDS.to, Type.Array(SEND_FIELDS.to, { minItems: 1, maxItems: 50, description: 'up to 50 recipients: one message each, answered as an array in data' })]),
    text: Type.Optional({ ...SEND_FIELDS.text, description: `${SEND_FIELDS.text.description}; may be left out when html is given (the plain-text part is derived from it)` }),
  },
  { additionalProperties: false },
);
/** As checked: text and subject may come from a template instead (validate.ts says which is missing). */
export const SendRequestShape = Type.Object(
  { ...SEND_FIELDS, text: Type.Optional(SEND_FIELDS.text), subject: Type.Optional(SEND_FIELDS.subject) },
  { additionalProperties: false },
);
export type SendRequest = Static<typeof SendRequestShape>;
/** A request once validated: text and subject are there, given or from its template. */
export type CompleteSendRequest = SendRequest & { text: string; subject: string };

export const MessageData = Type.Object({
  id: Type.String(),
  to: Type.String(),
  from: Type.String(),
  userName: Type.String(),
  operator: Type.String(),
  text: Type.String(),
  status: Type.String(),
  subject: Type.String(),
  externalId: Type.Union([Type.String(), Type.Null()]),
  clientId: Type.Union([Type.String(), Type.Null()]),
  callbacks: Type.Array(Type.String()),
  alias: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Optional(Type.String({ description: 'why a REJECTED message was not sent: SUPPRESSED' })),
  suppressionReason: Type.Optional(Type.String({ description: 'for SUPPRESSED: the suppression entry\'s reason (HARD_BOUNCE, COMPLAINT, UNSUBSCRIBE, MANUAL)' })),
});
export type MessageData = Static<typeof MessageData>;
