import type { DeliveryOutcome } from './transport.js';

/**
 * Turns an SMTP client error into an outcome: a 5xx reply is a bounce, anything else (4xx,
 * time-outs, refused or dropped connections, TLS failures) is temporary. The full rule table
 * with reasons arrives with the outbound MTA; addresses that do not exist (x.1.x) are HARD.
 */
interface SmtpErrorLike {
  responseCode?: number;
  response?: string;
  code?: string;
  message?: string;
}

export function classifySmtpError(error: unknown): DeliveryOutcome {
  const smtp = (error ?? {}) as SmtpErrorLike;
  const reply = smtp.response ?? smtp.message ?? String(error);
  const code = typeof smtp.responseCode === 'number' ? smtp.responseCode : null;
  const enhancedCode = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1] ?? null;
  if (code !== null && code >= 500 && code < 600) {
    const hard = enhancedCode ? /^5\.1\.[0-9]+$/.test(enhancedCode) : code === 550 || code === 551 || code === 553;
    return { kind: 'bounced', reply, code, enhancedCode, bounceClass: hard ? 'HARD' : 'SOFT' };
  }
  return { kind: 'deferred', reply: smtp.code && code === null ? `${smtp.code}: ${reply}` : reply, code };
}
