import {
  anyOf, AUTH, AUTH_REQUIRED, BLOCKLIST, CONNECTIONS, CONTENT, CONTENT_POLICY, GAVE_UP, HOST_UNKNOWN, NETWORK, MAILBOX_FULL, MAILER_ERROR, MOVED, NOT_ACCEPT, NOT_RFC, POLICY, PTR, RATE,
  RECIPIENT_FILTER, RELAY, REPUTATION, SAYS_NO_SUCH_RECIPIENT, SENDER, SIZE, SPAM, SUSPEND, SYSTEM, TLS, USER_UNKNOWN, VIRUS, YAHOO_NO_ACCOUNT,
} from '../../classification/phrases.js';
import { STATUS_MEANINGS } from '../../classification/statuses.js';
import type { BounceReason } from './types.js';

/**
 * What a bounced recipient's diagnostic means, as data: classify.ts walks these rules in order
 * and the first whose every given field matches decides. Phrases come first (servers put 5.7.1
 * or 5.0.0 on nearly everything, and a phrase is more telling than a code), then the RFC 3463
 * enhanced status, then the reply code. Every rule has a fixture in
 * test/bounces/parser/fixtures/reason-rules.json; ids are stable, as they name the fixtures.
 */
export interface ReasonMatch {
  /** Tested against the one-line diagnostic; case-insensitive. */
  text?: RegExp;
  /** A RegExp, or a dotted prefix: '5.7' matches 5.7.x, '5.1.1' matches 5.1.1 only. */
  status?: RegExp | string;
  /** Reply codes, exact or as inclusive ranges. */
  codes?: ReadonlyArray<number | { from: number; to: number }>;
  /** The SMTP command that was refused (MAIL, RCPT, DATA, CONN), when the report names it. */
  command?: readonly string[];
}

export interface ReasonRule {
  id: string;
  match: ReasonMatch;
  reason: BounceReason;
}

const PERMANENT = [{ from: 500, to: 599 }] as const;

export const reasonRules: readonly ReasonRule[] = [
  // What the report says happened to the message as a whole, before what the remote server said.
  { id: 'delivered-status', match: { status: /^2\./ }, reason: 'delivered' },
  // RFC 3463 codes whose meaning no server bends: they decide before any phrase.
  { id: 'status-exceed-limit', match: { status: /^[45]\.2\.3$/ }, reason: 'exceedlimit' }, // X.2.3 message length exceeds administrative limit
  { id: 'status-disabled-account', match: { status: /^[45]\.7\.13$/ }, reason: 'suspend' }, // IANA X.7.13 user account disabled

  // Phrases, most specific first.
  { id: 'mailer-error', match: { text: MAILER_ERROR }, reason: 'mailererror' },
  { id: 'not-rfc-compliant', match: { text: NOT_RFC }, reason: 'notcompliantrfc' },
  // Filtering gateways stating their verdict ("classified as spam", "judged to be spam"); before the
  // authentication rule: such notices go on to explain SPF and DKIM to the sender.
  { id: 'spam-classified', match: { text: anyOf(/spam classification/, /classified as spam/, /judged to be spam/) }, reason: 'spamdetected' },
  { id: 'dmarc-spf-dkim', match: { text: AUTH }, reason: 'authfailure' },
  { id: 'ptr-required', match: { text: PTR }, reason: 'requireptr' },
  { id: 'tls-required', match: { text: TLS }, reason: 'failedstarttls' },
  { id: 'virus', match: { text: VIRUS }, reason: 'virusdetected' },
  { id: 'mailbox-full', match: { text: MAILBOX_FULL }, reason: 'mailboxfull' },
  // Before the size rule: Exchange's MIME errors mention sizes of single header values.
  { id: 'content-error', match: { text: CONTENT }, reason: 'contenterror' },
  { id: 'size-limit', match: { text: SIZE }, reason: 'mesgtoobig' },
  // With RFC 3463's X.5.3 "too many recipients" in words (not a per-hour sending limit, which is RATE).
  { id: 'too-many-connections', match: { text: anyOf(CONNECTIONS, /too many recipients(?! this| per| in)/) }, reason: 'toomanyconn' },
  { id: 'recipient-filter', match: { text: RECIPIENT_FILTER }, reason: 'filtered' },
  { id: 'blocklisted', match: { text: BLOCKLIST }, reason: 'blocked' },
  // After the blocklists ("blocked using Barracuda Reputation" names a DNSBL, BRBL), before the
  // rates (Yahoo's TSS04 "unexpected volume or user complaints" is about reputation).
  { id: 'bad-reputation', match: { text: REPUTATION }, reason: 'badreputation' },
  { id: 'rate-limited', match: { text: RATE }, reason: 'speeding' },
  { id: 'has-moved', match: { text: MOVED }, reason: 'hasmoved' },
  { id: 'relay-denied', match: { text: RELAY }, reason: 'norelaying' },
  { id: 'null-mx', match: { text: NOT_ACCEPT }, reason: 'notaccept' },
  { id: 'account-disabled', match: { text: SUSPEND }, reason: 'suspend' },
  // Orange's documented code for mail its filter judged spam ("Mail rejete. Mail rejected. OFR_506").
  { id: 'spam', match: { text: SPAM }, reason: 'spamdetected' },
  { id: 'content-policy', match: { text: CONTENT_POLICY }, reason: 'policyviolation' },
  // The sender's own refusals, and the lists' (Mailman "not a member of this list", Google Groups
  // "permission to post", Gmail's unverified "send mail as" address).
  { id: 'sender-rejected', match: { text: anyOf(SENDER, /not (?:a )?member of this (?:mailing )?list/, /permission to post/, /'send mail as'/, /not a registered gateway user/) }, reason: 'rejected' },
  // Statements that the MTA gave up after retrying, whatever the last attempt ran into.
  { id: 'gave-up', match: { text: GAVE_UP }, reason: 'expired' },
  // Every refusal of MAIL FROM is about the sender, whatever words it uses ("... does not exist").
  { id: 'mail-from-refused', match: { command: ['MAIL'] }, reason: 'rejected' },
  // Office 365 directory-based edge blocking (550 5.4.1): the tenant has no such recipient. With
  // another status the same words are Postfix's access(5) REJECT default text: a policy.
  { id: 'office365-recipient-access-denied', match: { text: /recipient address rejected: access denied/i, status: '5.4.1' }, reason: 'userunknown' },
  // Wordings that only an MTA describing its own lookup uses.
  { id: 'mta-says-no-such-recipient', match: { text: SAYS_NO_SUCH_RECIPIENT }, reason: 'userunknown' },
  { id: 'user-unknown-at-rcpt', match: { text: USER_UNKNOWN, command: ['RCPT'] }, reason: 'userunknown' },
  { id: 'user-unknown-status', match: { text: USER_UNKNOWN, status: /^[45]\.1\./ }, reason: 'userunknown' },
  // Yahoo's own words for an address that does not exist ("554 delivery error: dd This user
  // doesn't have a yahoo.com account"), whichever command it answered.
  { id: 'yahoo-no-account', match: { text: YAHOO_NO_ACCOUNT }, reason: 'userunknown' },
  // "Unknown user" outside RCPT TO (after DATA, or not said when): a filter's wording, the address may be fine.
  { id: 'user-unknown-elsewhere', match: { text: USER_UNKNOWN }, reason: 'filtered' },
  // A resolver's temporary failure (SERVFAIL, a timeout) is a network problem, not a missing domain.
  { id: 'dns-temporary', match: { text: anyOf(HOST_UNKNOWN, /dns error/, /lookup failure/), status: /^4\./ }, reason: 'networkerror' },
  { id: 'host-unknown', match: { text: HOST_UNKNOWN }, reason: 'hostunknown' },
  { id: 'system-trouble', match: { text: SYSTEM }, reason: 'systemerror' },
  // Delays and give-ups in the MTAs' own words: Exim "retry time not reached for any host", qmail
  // "this message has been in the queue too long", Sendmail "could not be delivered within N days",
  // RFC 3463 X.4.7's "delivery time expired", Gmail's delay notices ("Message will be retried for",
  // "did not accept our requests to connect"), and connections that timed out.
  {
    id: 'expired-text',
    match: {
      text: anyOf(
        /retry timeout exceeded/, /message expired/, /envelope expired/, /delivery (?:time|period) (?:has )?expired/, /\bexpired after\b/,
        /have been failing for a long time/, /unable to deliver (?:in \d+ minutes|this message after)/, /could not deliver for the last/,
        /could not be delivered (?:with)?in \d+/, /(?:in|on) the queue too long/, /maximum time (?:allowed )?for delivery/,
        /still undelivered after/, /aborted after \d/, /gave up after \d+/, /retry time not reached for any host/,
        /message will be retried for/, /too many retries/, /did not accept our requests to connect/, /timed? ?out/,
      ),
    },
    reason: 'expired',
  },
  { id: 'network-trouble', match: { text: NETWORK }, reason: 'networkerror' },
  { id: 'auth-required', match: { text: AUTH_REQUIRED }, reason: 'securityerror' },
  { id: 'policy', match: { text: POLICY }, reason: 'policyviolation' },

  // No telling phrase (or one in another language): the status decides, as its RFC defines it.
  ...STATUS_MEANINGS.map(({ bounceRule, status, reason }): ReasonRule => ({ id: bounceRule, match: { status }, reason })),
  { id: 'reply-syntax', match: { codes: [{ from: 500, to: 504 }] }, reason: 'syntaxerror' },
  // RFC 5321 3.4: 551 "User not local; please try <forward-path>".
  { id: 'user-not-local', match: { codes: [551] }, reason: 'hasmoved' },
  { id: 'reply-permanent', match: { codes: PERMANENT }, reason: 'undefined' },
];
