import MailComposer from 'nodemailer/lib/mail-composer';
import type { Content } from '../sending/render.js';

/**
 * Composes the MIME message with Nodemailer's composer: UTF-8 headers encoded as RFC 2047,
 * multipart/alternative for text and HTML, attachments, and the Message-ID and Date fixed when
 * the message was accepted (so a retry sends the same message). Bcc is never written.
 */
export async function composeMime(content: Content, messageIdHeader: string, date: Date): Promise<Buffer> {
  const composer = new MailComposer({
    from: content.from,
    to: content.to,
    cc: content.cc.length > 0 ? content.cc : undefined,
    replyTo: content.replyTo ?? undefined,
    subject: content.subject,
    text: content.plain ?? content.text,
    html: content.html ?? undefined,
    headers: content.headers,
    attachments: content.attachments.map((attachment) => ({
      filename: attachment.filename,
      content: attachment.content,
      encoding: 'base64',
      contentType: attachment.contentType ?? undefined,
    })),
    messageId: messageIdHeader,
    date,
  });
  const built = await composer.compile().build();
  // The composer leaves the caller's bare LFs inside text parts; SMTP clients turn them into CRLF
  // on the wire, so they are turned into CRLF here, before signing, or the body hash would cover
  // other bytes than the receiver sees. latin1 maps bytes one to one.
  return built.includes(0x0a) ? Buffer.from(built.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1') : built;
}
