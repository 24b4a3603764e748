import { hostname } from 'node:os';
import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { KeyAuthenticator, Principal } from '../accounts/apiKeys.js';
import type { SmtpCredentialResolver } from '../accounts/smtpCredentials.js';
import type { Config } from '../config/settings.js';
import { checkAddress } from '../sending/addresses.js';
import type { SendPipeline } from '../sending/pipeline.js';
import { MAX_MESSAGE_BYTES } from '../sending/validate.js';
import type { Logger } from '../shared/log.js';
import { isStorableText } from '../shared/storable.js';
import './enhancedCodes.js';
import { ConnectionCounter, LoginThrottle } from './limits.js';
import { isInternal, replyForError, SmtpReply, withheldReply, type Stage } from './replies.js';
import type { TlsMaterial } from './tls.js';
import type { AuditLog } from '../audit/audit.js';
import { allows } from '../accounts/scopes.js';
import { doorRefusal, type Door } from '../hipaa/door.js';
import { HIPAA_MIN_TLS } from '../hipaa/tls.js';

export interface SubmissionDeps {
  pipeline: SendPipeline;
  keys: KeyAuthenticator;
  credentials: SmtpCredentialResolver;
  log: Logger;
  /** The audit log: every SMTP action of a HIPAA account is appended before it is answered. */
  audit?: AuditLog | null;
}

/** The HIPAA listener's own settings (docs/HIPAA.md). */
export type HipaaSubmissionSettings = SubmissionSettings & Pick<Config, 'hipaaSmtpHost' | 'hipaaSmtpPort'>;

export type SubmissionSettings = Pick<
  Config,
  | 'smtpHost' | 'smtpPort' | 'smtpsPort' | 'smtpHostname' | 'smtpInsecureAuth' | 'smtpMaxRecipients' | 'smtpMaxConnectionsPerIp'
  | 'smtpMaxConnections' | 'smtpIdleSeconds' | 'smtpAuthFailures' | 'smtpLockoutMinutes' | 'shutdownSeconds'
>;

/** RFC 5321 4.5.3.1.4 allows 512 octets per command; AUTH PLAIN with a long key needs more (RFC 4954: 12,288). */
const MAX_COMMAND_OCTETS = 4096;
/**
 * Commands smtp-server knows but Mailroom does not offer: sendmail's WIZ (which smtp-server
 * answers "200 Please pass, oh mighty wizard"), SHELL and KILL, and Postfix's proxy commands.
 */
const NEVER_OFFERED = ['WIZ', 'SHELL', 'KILL', 'XCLIENT', 'XFORWARD'];
/** MAIL FROM parameters of the extensions EHLO offers (SIZE, 8BITMIME, SMTPUTF8); RCPT TO has none. */
const MAIL_PARAMETERS = new Set(['SIZE', 'BODY', 'SMTPUTF8']);
/** The username that says "the password is an API key", as SendGrid's and Postmark's SMTP do. */
const API_KEY_USERNAME = 'apikey';
const QUEUED_AS_MAX = 440;

export interface SubmissionServer {
  /** host:port of the STARTTLS and the implicit-TLS listener. */
  addresses: { submission: string; smtps: string };
  close(): Promise<void>;
}

/**
 * The SMTP door into the send pipeline: submission with STARTTLS on MAILROOM_SMTP_PORT and
 * implicit TLS on MAILROOM_SMTPS_PORT, over Nodemailer's smtp-server. This file is protocol
 * only: who the client is (AUTH PLAIN/LOGIN with an SMTP credential or an API key, or an IP
 * credential), per-address limits, and turning the pipeline's answers into SMTP replies. What a
 * message may be, and storing it, is the pipeline's (src/sending): the reply to DATA is sent only
 * once every recipient's row has committed.
 */
export async function startSubmissionServer(settings: SubmissionSettings, tls: TlsMaterial, deps: SubmissionDeps): Promise<SubmissionServer> {
  const door = new SubmissionDoor(settings, deps);
  const plain = new SMTPServer(door.options(tls, false));
  const secure = new SMTPServer(door.options(tls, true));
  for (const server of [plain, secure]) server.on('error', (error) => deps.log.warn({ err: error }, 'SMTP connection error'));
  const submission = await listen(plain, settings.smtpHost, settings.smtpPort);
  let smtps: string;
  try {
    smtps = await listen(secure, settings.smtpHost, settings.smtpsPort);
  } catch (error) {
    await new Promise<void>((resolve) => plain.close(() => resolve()));
    throw error;
  }
  return {
    addresses: { submission, smtps },
    close: () => Promise.all([plain, secure].map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined),
  };
}

/**
 * The HIPAA submission listener (docs/HIPAA.md): implicit TLS only, TLS 1.2 or newer, so that
 * nothing (not even EHLO) crosses the network in clear; AUTH required (no IP credentials) and
 * only for HIPAA accounts. Every other step is the standard door's.
 */
export async function startHipaaSubmissionServer(settings: HipaaSubmissionSettings, tls: TlsMaterial, deps: SubmissionDeps): Promise<{ address: string; close(): Promise<void> }> {
  const door = new SubmissionDoor({ ...settings, smtpInsecureAuth: false }, deps, 'hipaa');
  const server = new SMTPServer({ ...door.options(tls, true), minVersion: HIPAA_MIN_TLS, authOptional: false });
  server.on('error', (error) => deps.log.warn({ err: error }, 'HIPAA SMTP connection error'));
  const address = await listen(server, settings.hipaaSmtpHost, settings.hipaaSmtpPort);
  return { address, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export function listen(server: SMTPServer, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`mailroom: cannot listen for SMTP on ${host}:${port}: ${error.message}`));
    server.server.once('error', onError);
    server.listen(port, host, () => {
      server.server.off('error', onError);
      const address = server.server.address();
      resolve(typeof address === 'object' && address ? `${address.address}:${address.port}` : `${host}:${port}`);
    });
  });
}

class SubmissionDoor {
  private readonly connections: ConnectionCounter;
  private readonly logins: LoginThrottle;
  /** Principals of connections let in by an IP credential (session.user is only set by AUTH). */
  private readonly byAddress = new Map<string, Principal>();

  constructor(private readonly settings: SubmissionSettings, private readonly deps: SubmissionDeps, private readonly door: Door = 'standard') {
    this.connections = new ConnectionCounter(settings.smtpMaxConnectionsPerIp);
    this.logins = new LoginThrottle(settings.smtpAuthFailures, settings.smtpLockoutMinutes * 60_000);
  }

  options(tls: TlsMaterial, implicitTls: boolean): SMTPServerOptions {
    return {
      secure: implicitTls,
      key: tls.key,
      cert: tls.cert,
      name: this.settings.smtpHostname || hostname(),
      banner: 'Mailroom ESMTP submission',
      size: MAX_MESSAGE_BYTES,
      rejectOversized: true,
      authMethods: ['PLAIN', 'LOGIN'],
      // Optional, because an IP credential submits without it; onMailFrom refuses anyone else.
      authOptional: true,
      allowInsecureAuth: this.settings.smtpInsecureAuth,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      disableReverseLookup: true,
      maxClients: this.settings.smtpMaxConnections,
      maxRecipients: this.settings.smtpMaxRecipients,
      maxCommandLength: MAX_COMMAND_OCTETS,
      socketTimeout: this.settings.smtpIdleSeconds * 1000,
      closeTimeout: Math.min(this.settings.shutdownSeconds, 10) * 1000,
      logger: false,
      onConnect: (session, callback) => this.onConnect(session, callback),
      disabledCommands: NEVER_OFFERED,
      onSecure: (_socket, session, callback) => {
        // After STARTTLS (or the implicit handshake) AUTH is offered.
        session.disabledCommands = NEVER_OFFERED;
        callback();
      },
      onAuth: (auth, session, callback) => this.answer('auth', callback, () => this.onAuth(auth, session)),
      onMailFrom: (address, session, callback) => this.answer('mail', callback, () => this.onMailFrom(address, session)),
      onRcptTo: (address, session, callback) => this.answer('rcpt', callback, async () => this.onRcptTo(address, session)),
      onData: (stream, session, callback) => this.onData(stream, session, callback),
      onClose: (session) => {
        this.connections.release(session.id);
        this.byAddress.delete(session.id);
      },
    };
  }

  private onConnect(session: SMTPServerSession, callback: (error?: Error | null) => void): void {
    if (!this.connections.admit(session.id, session.remoteAddress)) {
      callback(new SmtpReply(421, '4.7.0', 'Too many connections from your address; try again later.'));
      return;
    }
    // SPEC section 2: AUTH is offered only over TLS (unless MAILROOM_SMTP_INSECURE_AUTH).
    if (!session.secure && !this.settings.smtpInsecureAuth) session.disabledCommands = [...NEVER_OFFERED, 'AUTH'];
    // The HIPAA listener takes no IP credential: every session authenticates.
    if (this.door === 'hipaa') {
      callback();
      return;
    }
    this.deps.credentials.byAddress(session.remoteAddress).then(
      (principal) => {
        if (principal) this.byAddress.set(session.id, principal);
        callback();
      },
      (error: unknown) => {
        this.deps.log.error({ err: error }, 'SMTP: could not look up IP credentials');
        callback(new SmtpReply(421, '4.3.0', 'Temporary internal error; try again later.'));
      },
    );
  }

  /** Runs a hook and answers smtp-server's callback with nothing (accept) or a refusal. */
  private answer<T>(stage: Stage, callback: (error: Error | null, result?: T) => void, hook: () => Promise<T | undefined>): void {
    hook().then(
      (result) => callback(null, result),
      (error: unknown) => callback(this.refusal(error, stage)),
    );
  }

  private refusal(error: unknown, stage: Stage): SmtpReply {
    const reply = this.door === 'hipaa' ? withheldReply(error, replyForError(error, stage)) : replyForError(error, stage);
    // Only the error's message and code: a database error can carry the failed statement, and
    // with it the message's content, which no log may hold (SPEC section 10).
    if (isInternal(reply)) this.deps.log.error({ error: describe(error), stage }, 'SMTP: internal error');
    return reply;
  }

  private async onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<{ user: Principal }> {
    const address = session.remoteAddress;
    const wait = this.logins.lockedFor(address);
    if (wait > 0) {
      throw new SmtpReply(535, '5.7.8', `Too many failed logins from your address; try again in ${Math.ceil(wait / 60_000)} minute(s).`);
    }
    const username = auth.username ?? '';
    const password = auth.password ?? '';
    // A username the credentials table cannot hold (a NUL, an unpaired surrogate) names no one:
    // a failed login like any other, not a database error.
    const principal =
      username.toLowerCase() === API_KEY_USERNAME ? await this.deps.keys.authenticate(password)
        : isStorableText(username) ? await this.deps.credentials.byPassword(username, password) : null;
    if (!principal) {
      this.logins.fail(address);
      this.deps.log.warn({ remoteAddress: address, username, method: auth.method }, 'SMTP: failed login');
      throw new SmtpReply(535, '5.7.8', 'Authentication credentials invalid.');
    }
    try {
      checkDoor(principal, this.door);
      // An API key without the send scope (a read-only key, say) cannot submit mail either.
      if (!allows(principal.scopes, 'send')) throw new SmtpReply(535, '5.7.8', 'This API key does not have the send scope.');
    } catch (error) {
      await this.audit(principal, session, 'SMTP AUTH', error);
      throw error;
    }
    await this.audit(principal, session, 'SMTP AUTH', null);
    return { user: principal };
  }

  /** A refusal of a HIPAA account's step goes on its audit log; an accepted MAIL or RCPT is part of its DATA entry. */
  private async audited(principal: Principal, session: SMTPServerSession, action: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      await this.audit(principal, session, action, replyForError(error, action === 'SMTP MAIL FROM' ? 'mail' : 'rcpt'));
      throw error;
    }
  }

  /** Appends a HIPAA account's SMTP action to its audit log (ids and reply codes only); a failure to write is logged, never the session's. */
  private async audit(principal: Principal, session: SMTPServerSession, action: string, refusal: unknown, target: string | null = null): Promise<void> {
    if (!principal.accountHipaa || !this.deps.audit) return;
    const reply = refusal instanceof SmtpReply ? refusal : refusal === null ? null : replyForError(refusal, 'auth');
    try {
      await this.deps.audit.record({
        accountId: principal.accountId,
        actor: principal.keyId === null ? 'smtp-credential' : `key:${principal.keyId}`,
        operator: principal.operatorName,
        action,
        target,
        remoteAddress: session.remoteAddress,
        // 4.3.x is Mailroom's own temporary failure; any other reply refused the client.
        outcome: reply === null ? 'ok' : reply.enhancedCode.startsWith('4.3.') ? 'failed' : 'refused',
        status: reply === null ? (action === 'SMTP DATA' ? '250' : '235') : `${reply.responseCode} ${reply.enhancedCode}`,
      });
    } catch (error) {
      this.deps.log.error({ err: error, accountId: principal.accountId }, 'audit: an SMTP entry could not be written');
    }
  }

  private principal(session: SMTPServerSession): Principal {
    const principal = (session.user as Principal | undefined) || this.byAddress.get(session.id);
    if (!principal) throw new SmtpReply(530, '5.7.0', 'Authentication required: AUTH with an SMTP credential or an API key (username "apikey").');
    checkDoor(principal, this.door);
    return principal;
  }

  private async onMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<undefined> {
    const unknown = Object.keys(address.args || {}).filter((name) => !MAIL_PARAMETERS.has(name));
    if (unknown.length > 0) throw new SmtpReply(555, '5.5.4', `MAIL FROM parameter ${unknown.join(', ')} is not supported.`);
    const principal = this.principal(session);
    await this.audited(principal, session, 'SMTP MAIL FROM', () => this.deps.pipeline.checkEnvelopeSender(principal, address.address));
    return undefined;
  }

  private async onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<undefined> {
    const unknown = Object.keys(address.args || {});
    if (unknown.length > 0) throw new SmtpReply(555, '5.5.4', `RCPT TO parameter ${unknown.join(', ')} is not supported.`);
    const problem = checkAddress(address.address);
    if (problem) throw new SmtpReply(553, '5.1.3', `The recipient ${this.door === 'hipaa' ? '' : `${address.address} `}${problem}.`);
    const principal = this.principal(session);
    await this.audited(principal, session, 'SMTP RCPT TO', () => this.deps.pipeline.checkRecipient(principal, address.address));
    return undefined;
  }

  private onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (error?: Error | null, message?: string) => void): void {
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      // Past the limit nothing more is kept: smtp-server answers 552 5.3.4 (rejectOversized).
      if (stream.sizeExceeded) return;
      chunks.push(chunk);
      length += chunk.length;
    });
    stream.once('error', (error) => callback(this.refusal(error, 'data')));
    stream.once('end', () => {
      if (stream.sizeExceeded) {
        callback(new SmtpReply(552, '5.3.4', `Message too large; at most ${MAX_MESSAGE_BYTES} bytes.`));
        return;
      }
      const envelope = session.envelope;
      const input = {
        envelopeFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
        recipients: envelope.rcptTo.map((recipient) => recipient.address),
        raw: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length),
      };
      let principal: Principal;
      try {
        principal = this.principal(session);
      } catch (error) {
        callback(this.refusal(error, 'data'));
        return;
      }
      this.deps.pipeline.submitRaw(principal, input).then(
        async ({ ids, replayed }) => {
          await this.audit(principal, session, 'SMTP DATA', null, ids.join(' '));
          callback(null, queuedAs(ids, replayed));
        },
        async (error: unknown) => {
          const reply = this.refusal(error, 'data');
          await this.audit(principal, session, 'SMTP DATA', reply);
          callback(reply);
        },
      );
    });
  }
}

/** A HIPAA account off the HIPAA listener, or another account on it: 530 5.7.0, before any content. */
function checkDoor(principal: Principal, door: Door): void {
  const refusal = doorRefusal(principal, door);
  if (refusal) throw new SmtpReply(530, '5.7.0', refusal.message);
}

/** `2.0.0 Ok: queued as ID ...`, within one reply line (RFC 5321 4.5.3.1.5: 512 octets). */
export function queuedAs(ids: readonly string[], replayed: boolean): string {
  let text = `2.0.0 Ok: ${replayed ? 'already queued (idempotent replay) as' : 'queued as'}`;
  let shown = 0;
  for (const id of ids) {
    if (text.length + id.length + 1 > QUEUED_AS_MAX) break;
    text += ` ${id}`;
    shown++;
  }
  if (shown < ids.length) text += ` and ${ids.length - shown} more`;
  return text;
}

function describe(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
}
