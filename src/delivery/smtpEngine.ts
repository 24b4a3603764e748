import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { classifyReply, classifySmtpError } from './classifyReply.js';
import type { SmtpTarget } from './mxResolver.js';
import { HostPool, type SmtpError } from './smtpPool.js';
import type { DeliveryReport, RecipientResult, ReplyClassification } from './transport.js';

export interface EngineOptions {
  /** Name sent in EHLO. */
  heloName: string;
  /** Pooled connections per host (the destination lane bounds concurrency above this). */
  maxConnectionsPerHost: number;
  timeoutMs: number;
  /** `opportunistic`: STARTTLS when offered, plain text after a failed handshake. */
  tls: 'opportunistic' | 'required' | 'off' | 'implicit';
  /** False accepts any certificate: MX hosts rarely have one that verifies (RFC 7435). */
  verifyCertificates: boolean;
  auth?: { user: string; pass: string };
  /** Certificates (PEM) trusted beside Node's roots when a certificate must verify (MAILROOM_OUTBOUND_CA_FILE). */
  extraCa?: string;
}

export type Envelope = {
  from: string;
  to: string[];
};

/** The parts of a Nodemailer send result that the engine reads. */
interface SentInfo {
  rejectedErrors?: SmtpError[];
  response?: string;
}

/** How long a host whose TLS handshake failed is reached in plain text before TLS is tried again. */
const TLS_FAILURE_MEMORY_MS = 10 * 60_000;
/** Pools with no message for this long are closed. */
const IDLE_POOL_MS = 60_000;
/** Idle connections are closed well before servers' own idle time-outs (Postfix: 300 s). */
const IDLE_CONNECTION_MS = 30_000;
/** Transactions per connection, as Postfix's smtp_connection_reuse_count_limit would bound them. */
const MESSAGES_PER_CONNECTION = 1000;

/**
 * One SMTP client engine for every outbound transport: a pool of reusable connections per host
 * (smtpPool.ts, on Nodemailer's SMTPConnection, which pipelines the envelope), one
 * transaction for all recipients of a message at one destination, every host of the destination
 * tried in order until one answers, and opportunistic STARTTLS that falls back to plain text
 * only after a failed handshake (recorded in the report). `mx` gives it the MX hosts of each
 * domain; `relay` one fixed smarthost.
 */
export class SmtpEngine {
  private readonly pools = new Map<string, HostPool>();
  private readonly tlsFailedAt = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: EngineOptions) {
    this.sweeper = setInterval(() => this.closeIdlePools(), IDLE_POOL_MS);
    this.sweeper.unref();
  }

  /**
   * Delivers one message to the first target that takes a transaction. `connected` is false when
   * no target could be reached at all (for dead-destination accounting).
   */
  async send(targets: readonly SmtpTarget[], envelope: Envelope, raw: Buffer, recorded?: Promise<void>, requireTls = false): Promise<DeliveryReport & { connected: boolean }> {
    let lastError: SmtpError | null = null;
    let tlsRefused: SmtpError | null = null;
    for (const target of targets) {
      const attempt = requireTls ? await this.attemptVerified(target, envelope, raw, recorded) : await this.attempt(target, envelope, raw, recorded);
      if (attempt.kind === 'answered') return { ...attempt.report, connected: true };
      lastError = attempt.error;
      if (requireTls && isHandshakeFailure(attempt.error)) tlsRefused = attempt.error;
    }
    if (tlsRefused) {
      // No host offered TLS that verifies: nothing was sent in clear, the message waits (and,
      // after the retries, bounces) with its own reason. `connected`: the host did answer.
      const reply = tlsRefused.message ?? 'TLS required';
      return {
        acceptedAs: 'delivered',
        recipients: envelope.to.map((address) => ({
          address, reply, outcome: 'deferred', code: null, enhancedCode: null, reason: 'tlsrequired', bounceClass: null, retryAfterMs: null, rule: 'tls-required',
        })),
        connected: true,
      };
    }
    const failure = classifySmtpError(lastError ?? { message: 'no host to deliver to' });
    return {
      acceptedAs: 'delivered',
      recipients: envelope.to.map((address) => ({ address, reply: failure.reply, ...deferredOnly(failure) })),
      connected: false,
    };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private async attempt(target: SmtpTarget, envelope: Envelope, raw: Buffer, recorded: Promise<void> | undefined): Promise<{ kind: 'answered'; report: DeliveryReport } | { kind: 'unreachable'; error: SmtpError }> {
    const hostKey = `${target.address}:${target.port}`;
    const failedAt = this.tlsFailedAt.get(hostKey);
    let plain = this.options.tls === 'off' || (this.options.tls === 'opportunistic' && failedAt !== undefined && Date.now() - failedAt < TLS_FAILURE_MEMORY_MS);
    let tlsNote: DeliveryReport['tls'] = plain && this.options.tls === 'opportunistic' ? 'plaintext-after-tls-failure' : undefined;
    for (;;) {
      try {
        const { info, secure } = await this.pool(target, plain).send(envelope, raw, recorded);
        const tls = tlsNote ?? (this.options.tls === 'implicit' ? 'implicit' : secure ? 'starttls' : 'none');
        return { kind: 'answered', report: this.report(target, envelope, info, tls) };
      } catch (caught) {
        const error = (caught ?? new Error('SMTP send failed')) as SmtpError;
        if (isHandshakeFailure(error) && !plain && this.options.tls === 'opportunistic') {
          // RFC 7435: a failed handshake is retried in plain text rather than not delivering at all.
          this.tlsFailedAt.set(hostKey, Date.now());
          plain = true;
          tlsNote = 'plaintext-after-tls-failure';
          continue;
        }
        if (error.code === 'EENVELOPE' && error.rejectedErrors?.length) {
          return { kind: 'answered', report: this.report(target, envelope, { rejectedErrors: error.rejectedErrors }, tlsNote) };
        }
        // A reply to MAIL FROM or DATA is the host's answer for every recipient; a refusal in the
        // greeting or EHLO (e.g. 421 too busy) or no reply at all sends us to the next host.
        const answeredTransaction = typeof error.responseCode === 'number' && (error.command === 'MAIL FROM' || error.command === 'DATA' || error.command === 'RCPT TO');
        if (answeredTransaction) {
          const result = classifySmtpError(error);
          return {
            kind: 'answered',
            report: { acceptedAs: 'delivered', host: target.hostname, tls: tlsNote, recipients: envelope.to.map((address) => ({ address, reply: result.reply, ...strip(result) })) },
          };
        }
        return { kind: 'unreachable', error: { ...error, message: `${target.hostname} [${target.address}]: ${error.message ?? error.code ?? 'failed'}` } };
      }
    }
  }

  /** One try over verified TLS only: STARTTLS required (or the relay's implicit TLS), the certificate checked against the host's name; never plain text. */
  private async attemptVerified(target: SmtpTarget, envelope: Envelope, raw: Buffer, recorded: Promise<void> | undefined): Promise<{ kind: 'answered'; report: DeliveryReport } | { kind: 'unreachable'; error: SmtpError }> {
    try {
      const { info } = await this.pool(target, false, true).send(envelope, raw, recorded);
      return { kind: 'answered', report: this.report(target, envelope, info, this.options.tls === 'implicit' ? 'implicit' : 'starttls') };
    } catch (caught) {
      const error = (caught ?? new Error('SMTP send failed')) as SmtpError;
      if (error.code === 'EENVELOPE' && error.rejectedErrors?.length) {
        return { kind: 'answered', report: this.report(target, envelope, { rejectedErrors: error.rejectedErrors }, 'starttls') };
      }
      if (typeof error.responseCode === 'number' && (error.command === 'MAIL FROM' || error.command === 'DATA' || error.command === 'RCPT TO')) {
        const result = classifySmtpError(error);
        return { kind: 'answered', report: { acceptedAs: 'delivered', host: target.hostname, tls: 'starttls', recipients: envelope.to.map((address) => ({ address, reply: result.reply, ...strip(result) })) } };
      }
      return { kind: 'unreachable', error: { ...error, message: `${target.hostname} [${target.address}]: ${error.message ?? error.code ?? 'failed'}` } };
    }
  }

  private report(target: SmtpTarget, envelope: Envelope, info: SentInfo, tls: DeliveryReport['tls']): DeliveryReport {
    const rejected = new Map<string, SmtpError>();
    for (const error of info.rejectedErrors ?? []) if (error.recipient) rejected.set(error.recipient, error);
    const acceptedReply = info.response ?? '250 OK';
    const accepted = classifyReply({ code: replyCode(acceptedReply), text: acceptedReply });
    const recipients: RecipientResult[] = envelope.to.map((address) => {
      const error = rejected.get(address);
      if (!error) return { address, reply: acceptedReply, ...accepted };
      const result = classifySmtpError(error);
      return { address, reply: result.reply, ...strip(result) };
    });
    return { acceptedAs: 'delivered', recipients, host: target.hostname, tls };
  }

  /** `verified`: connections that carry only mail that must go over TLS that verifies; never shared with the others. */
  private pool(target: SmtpTarget, plain: boolean, verified = false): HostPool {
    const key = `${target.address}:${target.port}:${verified ? 'verified' : plain ? 'plain' : 'tls'}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const { options } = this;
      const implicit = options.tls === 'implicit';
      pool = new HostPool({
        connection: {
          host: target.address,
          port: target.port,
          name: options.heloName,
          secure: implicit,
          ignoreTLS: plain,
          requireTLS: verified ? !implicit : options.tls === 'required',
          opportunisticTLS: !verified && options.tls === 'opportunistic',
          tls: {
            servername: target.hostname,
            rejectUnauthorized: verified || options.verifyCertificates,
            ...trustedCa(options.extraCa),
          },
          connectionTimeout: options.timeoutMs,
          greetingTimeout: options.timeoutMs,
          socketTimeout: options.timeoutMs,
          dnsTimeout: options.timeoutMs,
        },
        auth: options.auth,
        maxConnections: options.maxConnectionsPerHost,
        maxMessagesPerConnection: MESSAGES_PER_CONNECTION,
        idleMs: IDLE_CONNECTION_MS,
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  private closeIdlePools(): void {
    const now = Date.now();
    for (const [key, pool] of this.pools) {
      if (now - pool.lastUsedAt > IDLE_POOL_MS && pool.size === 0) {
        pool.close();
        this.pools.delete(key);
      }
    }
  }
}

/**
 * The roots a certificate that must verify is checked against: Node's, plus the PEM certificates
 * of MAILROOM_OUTBOUND_CA_FILE when given (also used for MTA-STS policy fetches, mtaSts.ts).
 * As one secure context made once: a `ca` list given to each connection made Node parse the 145
 * roots again for every one, about 34 ms of the event loop per connection (a fifth of a busy
 * worker's main thread).
 */
export function trustedCa(extraCa: string | undefined): { secureContext?: SecureContext } {
  if (!extraCa) return {};
  let context = secureContexts.get(extraCa);
  if (!context) {
    context = createSecureContext({ ca: [...rootCertificates, extraCa] });
    secureContexts.set(extraCa, context);
  }
  return { secureContext: context };
}

/** By the extra certificates' PEM text: one installation has one file, tests a few. */
const secureContexts = new Map<string, SecureContext>();

/** Nodemailer reports a failed TLS handshake as ETLS, or as ESOCKET carrying OpenSSL's message. */
function isHandshakeFailure(error: SmtpError): boolean {
  return error.code === 'ETLS' || (error.code === 'ESOCKET' && /\b(?:SSL|TLS)\b|certificate|handshake/i.test(error.message ?? ''));
}

function replyCode(reply: string): number | null {
  const match = /^([2-5]\d\d)/.exec(reply);
  return match ? Number(match[1]) : null;
}

function strip(result: ReplyClassification & { reply: string }): ReplyClassification {
  const { reply: _reply, ...classification } = result;
  return classification;
}

/** A failure before any reply is never a bounce, whatever the error says. */
function deferredOnly(result: ReplyClassification & { reply: string }): ReplyClassification {
  const classification = strip(result);
  return classification.outcome === 'deferred' ? classification : { ...classification, outcome: 'deferred', bounceClass: null };
}
