import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * smtp-server adds an enhanced status code to every reply it sends, chosen from the reply code
 * alone (550 is always 5.1.1 "mailbox unavailable"), and offers no way to give one with an
 * error. Mailroom's refusals need their own (550 5.7.1 for an unverified sender, 552 5.3.4, 451
 * 4.7.1, ...), so each refusal's text starts with its code, and this wrapper tells the library to
 * add none to a text that already has one. Installed once, when the SMTP door is loaded.
 */
const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

type Send = (code: number, data?: string | string[], context?: string | false) => void;
const prototype = SMTPConnection.prototype as unknown as { send: Send; mailroomPatched?: boolean };

if (!prototype.mailroomPatched) {
  const original = prototype.send;
  prototype.send = function send(this: unknown, code, data, context) {
    if (typeof data === 'string' && ENHANCED_CODE.test(data)) return original.call(this, code, data, false);
    return original.call(this, code, data, context);
  };
  prototype.mailroomPatched = true;
}
