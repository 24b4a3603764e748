import { hostname } from 'node:os';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Database } from '../db/database.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { listen } from '../smtp/server.js';
import { SmtpReply } from '../smtp/replies.js';
import type { TlsMaterial } from '../smtp/tls.js';
import type { HipaaVault } from '../hipaa/vault.js';
import { FeedbackRecorder, reportTarget, type FeedbackOutcome } from './feedback.js';
import { parseBounce } from './parser/index.js';
import type { Verp, VerpTarget } from './verp.js';

export interface MxSettings {
  host: string;
  port: number;
  hostname: string;
  /** The configured bounce domain (MAILROOM_BOUNCE_DOMAIN); '' = bounces.<sending domain>. */
  bounceDomain: string;
}

export interface MxDeps {
  db: Database;
  verp: Verp;
  clock: Clock;
  log: Logger;
  /** Told after each recorded bounce or complaint (the reputation check). */
  onFeedback: (outcomes: FeedbackOutcome[]) => void;
  /** Hashes the recipients of reports about HIPAA messages; without it, those reports change nothing. */
  vault?: Pick<HipaaVault, 'hasher'>;
}

export interface MxServer {
  address: string;
  close(): Promise<void>;
}

/** A DSN quotes the original message; 25 MB leaves room for a 10 MB message returned whole in base64. */
const MAX_REPORT_BYTES = 25 * 1024 * 1024;
const MAX_RECIPIENTS = 20;
/**
 * Local parts that take feedback-loop reports (providers mail complaints to the address the
 * sender registered, not to the Return-Path); the quoted original names the message.
 */
const FEEDBACK_MAILBOXES = new Set(['fbl', 'feedback', 'complaints', 'arf', 'abuse']);

type Recipient = { kind: 'verp'; target: VerpTarget } | { kind: 'feedback' };

/**
 * The inbound MX for bounce domains (SPEC section 1, MAILROOM_MX_PORT): takes DSNs addressed
 * to VERP Return-Paths and feedback-loop reports, and nothing else. RCPT decides: an address
 * that is not a VERP address with a valid MAC, nor a feedback mailbox of a bounce domain, is
 * refused with 550 5.1.1 there, so the MX is never a relay and never stores mail for anyone.
 * A report is answered 250 only after what it changed has committed.
 */
export async function startMxServer(settings: MxSettings, tls: TlsMaterial, deps: MxDeps): Promise<MxServer> {
  const recipients = new WeakMap<SMTPServerSession, Recipient[]>();
  const recorder = new FeedbackRecorder(deps.db, deps.vault ? (accountId) => deps.vault!.hasher(accountId) : null);
  const server = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    name: settings.hostname || hostname(),
    banner: 'Mailroom ESMTP bounce and feedback MX',
    size: MAX_REPORT_BYTES,
    disabledCommands: ['AUTH'],
    hideDSN: true,
    hideREQUIRETLS: true,
    hideENHANCEDSTATUSCODES: false,
    disableReverseLookup: true,
    maxClients: 500,
    socketTimeout: 60_000,
    onMailFrom: (_address, session, callback) => {
      recipients.set(session, []);
      callback();
    },
    onRcptTo: (address: SMTPServerAddress, session, callback) => {
      const accepted = recipientFor(address.address, settings.bounceDomain, deps.verp);
      if (!accepted) return callback(new SmtpReply(550, '5.1.1', `No such mailbox here: ${address.address} (this server takes bounces and feedback reports for Mailroom only)`));
      const list = recipients.get(session) ?? [];
      if (list.length >= MAX_RECIPIENTS) return callback(new SmtpReply(452, '4.5.3', 'Too many recipients.'));
      list.push(accepted);
      recipients.set(session, list);
      return callback();
    },
    onData: (stream: SMTPServerDataStream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (!stream.sizeExceeded) chunks.push(chunk);
      });
      stream.once('end', () => {
        if (stream.sizeExceeded) return callback(new SmtpReply(552, '5.3.4', `Message too large; at most ${MAX_REPORT_BYTES} bytes.`));
        handleReport(Buffer.concat(chunks), recipients.get(session) ?? [], recorder, deps).then(
          (summary) => callback(null, summary),
          (error: unknown) => {
            deps.log.error({ err: error instanceof Error ? error.message : String(error) }, 'MX: could not record a report');
            callback(new SmtpReply(451, '4.3.0', 'Internal error; please try again later.'));
          },
        );
      });
    },
  });
  server.on('error', (error) => deps.log.warn({ err: error }, 'MX connection error'));
  const address = await listen(server, settings.host, settings.port);
  return { address, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function recipientFor(address: string, bounceDomain: string, verp: Verp): Recipient | null {
  const target = verp.decode(address);
  if (target) return { kind: 'verp', target };
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at).toLowerCase();
  const domain = address.slice(at + 1).toLowerCase();
  const ours = bounceDomain ? domain === bounceDomain.toLowerCase() : domain.startsWith('bounces.');
  return at > 0 && ours && FEEDBACK_MAILBOXES.has(local) ? { kind: 'feedback' } : null;
}

/** Parses once, applies the report to the message of each recipient, and says what it did (the 250 text). */
async function handleReport(raw: Buffer, recipients: Recipient[], recorder: FeedbackRecorder, deps: MxDeps): Promise<string> {
  const report = parseBounce(raw);
  if (report.kind !== 'bounce' && report.kind !== 'feedback') return `2.0.0 Ok: not a bounce or complaint (${report.kind}); nothing recorded`;
  const outcomes: FeedbackOutcome[] = [];
  const now = deps.clock.now();
  const seen = new Set<string>();
  for (const recipient of recipients) {
    const target = reportTarget(deps.verp, recipient.kind === 'verp' ? recipient.target : null, report);
    const key = target ? `${target.messageId}-${target.recipientIndex}` : '';
    if (!target || seen.has(key)) continue;
    seen.add(key);
    outcomes.push(...(await recorder.apply(target, report, now)));
  }
  const recorded = outcomes.filter((outcome) => outcome.recorded);
  if (recorded.length > 0) deps.onFeedback(recorded);
  if (outcomes.length === 0) return `2.0.0 Ok: ${report.kind} matched no message; nothing recorded`;
  return `2.0.0 Ok: ${outcomes.map((outcome) => `${outcome.messageId} ${outcome.recorded ? outcome.type : 'already ' + outcome.type}`).join(', ')}`.slice(0, 440);
}
