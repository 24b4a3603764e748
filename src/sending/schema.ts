import { Type, type Static } from '@sinclair/typebox';

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

export const SendRequest = Type.Object(
  {
    to: Text(512, 'recipient address, "addr" or "Name <addr>"'),
    from: Text(512, 'a verified sender address of the account, "addr" or "Name <addr>"'),
    text: Type.String({ minLength: 1, description: 'content, plain text or HTML (HTML is detected)' }),
    subject: Text(998, 'subject line'),
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
  },
  { additionalProperties: false },
);
export type SendRequest = Static<typeof SendRequest>;

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
