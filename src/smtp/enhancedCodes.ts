import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * smtp-server adds an enhanced status code to every reply it sends, chosen from the reply code
 * alone (550 is always 5.1.1 "mailbox unavailable"), and offers no way to give one with an
 * error. Mailroom's refusals need their own (550 5.7.1 for an unverified sender, 552 5.3.4, 451
 * 4.7.1, ...), so each refusal's text starts with its code, and this wrapper tells the library to
 * add none to a text that already has one. Installed once, when the SMTP door is loaded.
 *
 * It also corrects a class mismatch: smtp-server passes the client's own verb as the context of
 * "500 command not recognized", so a client that sends the verb "DATA_OK" got "500 2.6.0"
 * (found by test/smtp/fuzz.test.ts). A context whose code is of another class than the reply is
 * dropped, and the reply code's own mapping applies (RFC 3463: the classes must agree).
 *
 * And AUTH before TLS: Mailroom offers AUTH only over TLS by disabling the command for the
 * plain-text part of a session, for which smtp-server answers "500 command not recognized".
 * RFC 3207 section 4 names the reply for this case: 530 5.7.0 Must issue a STARTTLS command first.
 */
const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

type Send = (code: number, data?: string | string[], context?: string | false) => void;
interface Connection {
  secure: boolean;
  _getEnhancedStatusCode(code: number, context?: string | false): string;
}
const prototype = SMTPConnection.prototype as unknown as { send: Send; mailroomPatched?: boolean };

if (!prototype.mailroomPatched) {
  const original = prototype.send;
  prototype.send = function send(this: Connection, code, data, context) {
    if (typeof data === 'string' && ENHANCED_CODE.test(data)) return original.call(this, code, data, false);
    if (code === 500 && context === 'AUTH' && !this.secure) return original.call(this, 530, '5.7.0 Must issue a STARTTLS command first', false);
    if (typeof context === 'string') {
      const enhanced = this._getEnhancedStatusCode(code, context);
      if (enhanced && enhanced[0] !== String(code)[0]) return original.call(this, code, data, undefined);
    }
    return original.call(this, code, data, context);
  };
  prototype.mailroomPatched = true;
}
