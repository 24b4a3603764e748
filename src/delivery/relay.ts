import nodemailer from 'nodemailer';
import type { DeliveryOutcome, OutboundMessage, Transport } from './transport.js';
import { classifySmtpError } from './smtpReply.js';

/**
 * Every message to one smarthost (MAILROOM_RELAY_URL) over Nodemailer's pooled SMTP connections:
 * `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://` (implicit TLS).
 * Query options: `starttls=required` refuses plain text; `verify=false` accepts a self-signed
 * certificate (a relay on the same host).
 */
export function relayOptions(url: string, maxConnections: number) {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'smtps:';
  const starttls = parsed.searchParams.get('starttls') ?? 'opportunistic';
  return {
    pool: true as const,
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: Number(parsed.port || (secure ? 465 : 587)),
    secure,
    requireTLS: starttls === 'required',
    ignoreTLS: starttls === 'off',
    auth: parsed.username ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } : undefined,
    tls: { rejectUnauthorized: parsed.searchParams.get('verify') !== 'false' },
    maxConnections,
    maxMessages: Infinity,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  };
}

export class RelayTransport implements Transport {
  readonly name = 'relay';
  private readonly mailer;

  constructor(url: string, maxConnections: number) {
    this.mailer = nodemailer.createTransport(relayOptions(url, maxConnections));
  }

  async deliver(message: OutboundMessage): Promise<DeliveryOutcome> {
    try {
      const info = await this.mailer.sendMail({ envelope: message.envelope, raw: message.raw });
      const rejected = (info.rejected ?? []).map(String);
      if (rejected.length > 0 && rejected.length === message.envelope.to.length) {
        const error = info.rejectedErrors?.[0];
        return classifySmtpError(error ?? { response: info.response });
      }
      return { kind: 'sent', reply: info.response };
    } catch (error) {
      return classifySmtpError(error);
    }
  }

  async close(): Promise<void> {
    this.mailer.close();
  }
}
