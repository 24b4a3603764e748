import {
  anyOf, AUTH, AUTH_REQUIRED, BLOCKLIST, CONNECTIONS, CONTENT, CONTENT_POLICY, GAVE_UP, HOST_UNKNOWN, NETWORK, MAILBOX_FULL, MAILER_ERROR, MOVED, NOT_ACCEPT, NOT_RFC, POLICY, PTR,
  RATE, RECIPIENT_FILTER, RELAY, REPUTATION, SAYS_NO_SUCH_RECIPIENT, SENDER, SIZE, SPAM, SUSPEND, SYSTEM, TLS, USER_UNKNOWN, VIRUS, YAHOO_NO_ACCOUNT,
} from '../classification/phrases.js';
import { HARD_REASONS, type ReplyReason } from '../classification/reasons.js';
import { STATUS_MEANINGS } from '../classification/statuses.js';
import type { BounceClass, ReplyClassification } from './transport.js';

/**
 * What an SMTP reply (or a failure without one) means, as data: classifyReply.ts walks these
 * rules in order and the first whose every given field matches decides. Rules are ordered from
 * specific to general: phrases first (servers misuse enhanced codes, 5.7.1 above all), then the
 * RFC 3463 enhanced code, then the bare reply code. Rule ids are stored with every delivery event,
 * so they must stay stable once released.
 */

/** The reasons a live reply can carry (src/classification/reasons.ts). */
export type BounceReason = ReplyReason;

/** An exact reply code (551) or an inclusive range ({ from: 500, to: 599 }). */
export type CodeMatch = number | { from: number; to: number };

export interface RuleMatch {
  codes?: readonly CodeMatch[];
  /** A RegExp, or a dotted prefix: '5.7' matches 5.7.x, '5.1.1' matches 5.1.1 but not 5.1.10. */
  enhanced?: RegExp | string;
  /** Tested against the reply text with continuation prefixes ("550-5.1.1 ") removed; must carry the i flag. */
  text?: RegExp;
  /** Node and Nodemailer error codes, for failures that came with no reply. */
  errorCodes?: readonly string[];
  /** The command the reply answered (MAIL, RCPT, DATA), when it is known: the rule needs one of these. */
  commands?: readonly SmtpCommand[];
  /** The rule does not apply when the enhanced code or the text matches these. */
  unless?: { enhanced?: RegExp; text?: RegExp };
}

/** The SMTP commands a reply can answer, as the bounce parser names them too. */
export type SmtpCommand = 'MAIL' | 'RCPT' | 'DATA';

export interface RuleResult {
  outcome: ReplyClassification['outcome'];
  reason: BounceReason | null;
  bounceClass: BounceClass | null;
}

export interface ReplyRule {
  id: string;
  description: string;
  match: RuleMatch;
  result: RuleResult;
}

const SUCCESS = [{ from: 200, to: 299 }] as const;
const TEMPORARY = [{ from: 400, to: 499 }] as const;
const PERMANENT = [{ from: 500, to: 599 }] as const;

const delivered: RuleResult = { outcome: 'delivered', reason: null, bounceClass: null };
const defer = (reason: BounceReason): RuleResult => ({ outcome: 'deferred', reason, bounceClass: null });
/** HARD only where the address itself is bad: only then may it be suppressed. */
const bounce = (reason: BounceReason, bounceClass: BounceClass = 'SOFT'): RuleResult => ({ outcome: 'bounced', reason, bounceClass });


// Phrases shared by the 4xx and 5xx rules of the same reason.
const GREYLIST = anyOf(/\bgr[ae]y-?list(?:ed|ing)?\b/, /postgrey/, /come back (?:later|in)/);
export const replyRules: readonly ReplyRule[] = [
  {
    id: 'relay-auth-rejected', description: 'The relay refused our own credentials: a configuration problem, never the recipient\'s bounce',
    match: { errorCodes: ['EAUTH'] }, result: defer('securityerror'),
  },
  { id: 'accepted', description: 'Any 2xx: the server took responsibility for the message', match: { codes: SUCCESS }, result: delivered },

  // 4xx: always a deferral, however final the text sounds ("Retrying will NOT succeed"): RFC 5321 says transient.
  {
    id: 'greylisted', description: 'Greylisting: the first attempt from an unknown triplet is refused',
    match: { codes: TEMPORARY, text: GREYLIST }, result: defer('undefined'),
  },
  {
    id: 'tls-problem-temporary', description: 'STARTTLS unavailable or failed on the server side',
    match: { codes: TEMPORARY, text: TLS }, result: defer('failedstarttls'),
  },
  {
    id: 'mailbox-full-temporary', description: 'Mailbox over quota, may drain',
    match: { codes: TEMPORARY, text: MAILBOX_FULL }, result: defer('mailboxfull'),
  },
  {
    id: 'blocklisted-temporary', description: 'Sending IP on a blocklist or deferred for complaints',
    match: { codes: TEMPORARY, text: BLOCKLIST }, result: defer('blocked'),
  },
  {
    id: 'bad-reputation-temporary', description: 'Throttled because of IP or domain reputation',
    match: { codes: TEMPORARY, text: REPUTATION }, result: defer('badreputation'),
  },
  {
    id: 'ptr-required-temporary', description: 'The sending IP has no usable reverse DNS',
    match: { codes: TEMPORARY, text: PTR }, result: defer('requireptr'),
  },
  {
    id: 'auth-failure-temporary', description: 'SPF, DKIM or DMARC did not pass',
    match: { codes: TEMPORARY, text: AUTH }, result: defer('authfailure'),
  },
  {
    id: 'too-many-connections-temporary', description: 'Too many connections or the server is busy',
    match: { codes: TEMPORARY, text: CONNECTIONS }, result: defer('toomanyconn'),
  },
  {
    id: 'rate-limited-temporary', description: 'Sending too fast for the receiver',
    match: { codes: TEMPORARY, text: RATE }, result: defer('speeding'),
  },
  {
    id: 'relay-denied-temporary', description: 'Relay refused (soft_bounce or a temporary policy)',
    match: { codes: TEMPORARY, text: RELAY }, result: defer('norelaying'),
  },
  {
    id: 'sender-rejected-temporary', description: 'The envelope sender could not be verified yet',
    match: { codes: TEMPORARY, text: SENDER }, result: defer('rejected'),
  },
  {
    id: 'user-unknown-temporary', description: 'Recipient not verifiable now (e.g. Postfix unverified address)',
    match: { codes: TEMPORARY, text: USER_UNKNOWN }, result: defer('userunknown'),
  },
  {
    id: 'host-unknown-temporary', description: 'Recipient domain not resolvable now',
    match: { codes: TEMPORARY, text: HOST_UNKNOWN }, result: defer('hostunknown'),
  },
  {
    id: 'system-error-temporary', description: 'A local problem on the receiving system',
    match: { codes: TEMPORARY, text: SYSTEM }, result: defer('systemerror'),
  },
  {
    id: 'network-status-temporary', description: 'Enhanced 4.4.x: network or routing trouble',
    match: { codes: TEMPORARY, enhanced: '4.4' }, result: defer('networkerror'),
  },
  {
    id: 'system-status-temporary', description: 'Enhanced 4.3.x: mail system status',
    match: { codes: TEMPORARY, enhanced: '4.3' }, result: defer('systemerror'),
  },
  {
    id: 'deferred-other', description: 'Any other 4xx',
    match: { codes: TEMPORARY }, result: defer('undefined'),
  },

  // 5xx: always a bounce; the phrases decide the reason, since servers put 5.7.1 on nearly everything.
  {
    id: 'mailer-error', description: 'The receiving system\'s local delivery program failed (Sendmail "unknown mailer error")',
    match: { codes: PERMANENT, text: MAILER_ERROR }, result: bounce('mailererror'),
  },
  {
    id: 'tls-required', description: 'The server insists on TLS we did not provide',
    match: { codes: PERMANENT, text: TLS }, result: bounce('failedstarttls'),
  },
  {
    id: 'ptr-required', description: 'The sending IP has no usable reverse DNS',
    match: { codes: PERMANENT, text: PTR }, result: bounce('requireptr'),
  },
  // Before auth-failure ("duplicate header 'DKIM-Signature'") and spam-detected (Gmail's RFC 5322 refusals say "to reduce the amount of spam").
  {
    id: 'not-rfc-compliant', description: 'The message breaks RFC 5322 (missing headers, bare LF, long lines)',
    match: { codes: PERMANENT, text: NOT_RFC }, result: bounce('notcompliantrfc'),
  },
  {
    id: 'auth-failure', description: 'SPF, DKIM or DMARC failed, or the sender is unauthenticated',
    match: { codes: PERMANENT, text: AUTH }, result: bounce('authfailure'),
  },
  {
    id: 'virus-detected', description: 'The message carries malware',
    match: { codes: PERMANENT, text: VIRUS }, result: bounce('virusdetected'),
  },
  {
    id: 'recipient-filter', description: 'The recipient\'s own block list or filter refused the sender',
    match: { codes: PERMANENT, text: RECIPIENT_FILTER }, result: bounce('filtered'),
  },
  {
    id: 'ip-blocklisted', description: 'The sending IP is on a blocklist or banned',
    match: { codes: PERMANENT, text: BLOCKLIST }, result: bounce('blocked'),
  },
  {
    id: 'bad-reputation', description: 'Refused for the reputation of the sending IP or domain',
    match: { codes: PERMANENT, text: REPUTATION }, result: bounce('badreputation'),
  },
  {
    id: 'spam-detected', description: 'The content was judged spam',
    match: { codes: PERMANENT, text: SPAM }, result: bounce('spamdetected'),
  },
  {
    id: 'content-policy', description: 'A content policy, not spam (Gmail "its content presents a potential security issue")',
    match: { codes: PERMANENT, text: CONTENT_POLICY }, result: bounce('policyviolation'),
  },
  {
    id: 'too-many-connections', description: 'Too many connections',
    match: { codes: PERMANENT, text: CONNECTIONS }, result: bounce('toomanyconn'),
  },
  {
    id: 'mailbox-full', description: 'Mailbox over quota',
    match: { codes: PERMANENT, text: MAILBOX_FULL }, result: bounce('mailboxfull'),
  },
  // Before message-too-big: Exchange's MIME errors mention sizes of single header values.
  {
    id: 'content-error', description: 'Malformed MIME or headers',
    match: { codes: PERMANENT, text: CONTENT }, result: bounce('contenterror'),
  },
  {
    id: 'message-too-big', description: 'The message exceeds the size limit',
    match: { codes: PERMANENT, text: SIZE }, result: bounce('mesgtoobig'),
  },
  {
    id: 'rate-limited', description: 'Sending too fast or over a quota (a 5xx even though it would pass)',
    match: { codes: PERMANENT, text: RATE }, result: bounce('speeding'),
  },
  {
    id: 'mailbox-disabled', description: 'The account exists but is disabled or suspended',
    match: { codes: PERMANENT, text: SUSPEND }, result: bounce('suspend'),
  },
  {
    id: 'has-moved', description: 'The recipient has moved to another address',
    match: { codes: PERMANENT, text: MOVED }, result: bounce('hasmoved', 'HARD'),
  },
  {
    id: 'relay-denied', description: 'The server is not responsible for the recipient domain',
    match: { codes: PERMANENT, text: RELAY }, result: bounce('norelaying'),
  },
  {
    id: 'sender-rejected', description: 'The envelope sender was refused',
    match: { codes: PERMANENT, text: SENDER }, result: bounce('rejected'),
  },
  {
    id: 'gave-up', description: 'A relay that held the message gave up retrying ("Message expired", "retry timeout exceeded")',
    match: { codes: PERMANENT, text: GAVE_UP }, result: bounce('expired'),
  },
  {
    id: 'does-not-accept-mail', description: 'The domain accepts no mail (null MX, RFC 7505)',
    match: { codes: PERMANENT, text: NOT_ACCEPT }, result: bounce('notaccept', 'HARD'),
  },
  // As the bounce parser reads a DSN: every refusal of MAIL FROM is about the sender, whatever
  // words it uses ("... does not exist"), unless a phrase above said more.
  {
    id: 'mail-from-refused', description: 'MAIL FROM was refused: the sender\'s problem, never the recipient\'s address',
    match: { codes: PERMANENT, commands: ['MAIL'] }, result: bounce('rejected'),
  },
  {
    id: 'user-not-local', description: '551: the user is not here, try the forward path',
    match: { codes: [551] }, result: bounce('hasmoved', 'HARD'),
  },
  {
    id: 'office365-recipient-rejected',
    description: 'Office 365 directory-based edge blocking: the recipient does not exist in the tenant',
    match: { codes: PERMANENT, enhanced: '5.4.1', text: /recipient address rejected: access denied/i },
    result: bounce('userunknown', 'HARD'),
  },
  // "Unknown user" in answer to DATA: a content filter's wording, as the bounce parser reads it too.
  {
    id: 'user-unknown-after-data', description: '"User unknown" after DATA: a content filter hiding what it did; the address may be fine',
    match: { codes: PERMANENT, text: USER_UNKNOWN, commands: ['DATA'], unless: { enhanced: /^5\.1\./, text: anyOf(SAYS_NO_SUCH_RECIPIENT, YAHOO_NO_ACCOUNT) } },
    result: bounce('filtered'),
  },
  {
    id: 'user-unknown', description: 'The mailbox does not exist',
    match: { codes: PERMANENT, text: USER_UNKNOWN }, result: bounce('userunknown', 'HARD'),
  },
  {
    id: 'host-unknown', description: 'The recipient domain does not exist or cannot be routed',
    match: { codes: PERMANENT, text: HOST_UNKNOWN }, result: bounce('hostunknown', 'HARD'),
  },
  {
    id: 'authentication-required', description: 'The server wants an authenticated client',
    match: { codes: PERMANENT, text: AUTH_REQUIRED }, result: bounce('securityerror'),
  },
  {
    id: 'system-error', description: 'The receiving system is out of service',
    match: { codes: PERMANENT, text: SYSTEM }, result: bounce('systemerror'),
  },
  {
    id: 'network-trouble', description: 'Network or routing trouble behind the server, a mail loop above all',
    match: { codes: PERMANENT, text: NETWORK }, result: bounce('networkerror'),
  },
  {
    id: 'policy-rejection', description: 'Refused by a local policy',
    match: { codes: PERMANENT, text: POLICY }, result: bounce('policyviolation'),
  },

  // No telling phrase (often a reply in another language): the enhanced code decides, as its RFC defines it.
  ...STATUS_MEANINGS.map(({ replyRule, source, status, reason }): ReplyRule => ({
    id: replyRule, description: source, match: { codes: PERMANENT, enhanced: status }, result: bounce(reason, HARD_REASONS.has(reason) ? 'HARD' : 'SOFT'),
  })),
  {
    id: 'command-rejected', description: '500-504: the server did not understand a command or its arguments',
    match: { codes: [{ from: 500, to: 504 }] }, result: bounce('syntaxerror'),
  },
  {
    id: 'bounced-other', description: 'Any other 5xx',
    match: { codes: PERMANENT }, result: bounce('undefined'),
  },

  // Only failures without a 2xx-5xx reply get here.
  {
    id: 'tls-failed', description: 'The TLS handshake failed',
    match: { errorCodes: ['ETLS'] }, result: defer('failedstarttls'),
  },
  {
    id: 'dns-failed', description: 'The MX host name did not resolve',
    match: { errorCodes: ['EDNS', 'ENOTFOUND', 'EAI_AGAIN', 'ESERVFAIL'] }, result: defer('networkerror'),
  },
  {
    id: 'connection-failed',
    description: 'Refused, reset or timed-out connection',
    match: { errorCodes: ['ECONNECTION', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED'] },
    result: defer('networkerror'),
  },
  {
    id: 'protocol-error', description: 'The server spoke something other than SMTP',
    match: { errorCodes: ['EPROTOCOL'] }, result: defer('systemerror'),
  },
  {
    id: 'client-error', description: 'Nodemailer refused the envelope or message before any reply',
    match: { errorCodes: ['EENVELOPE', 'EMESSAGE', 'ESTREAM'] }, result: defer('undefined'),
  },
  {
    id: 'no-reply-other', description: 'Anything else without a reply: retrying is the safe choice',
    match: {}, result: defer('undefined'),
  },
];
