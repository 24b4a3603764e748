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

/** One pattern from several, so that each phrase reads on its own. */
const anyOf = (...patterns: RegExp[]): RegExp => new RegExp(patterns.map((pattern) => pattern.source).join('|'), 'i');

const PERMANENT = [{ from: 500, to: 599 }] as const;

// Phrases shared by several rules.
const USER_UNKNOWN = anyOf(
  /user ?unknown/, /unknown (?:user|recipient|mailbox|local.?part|or illegal alias)/, /no such (?:user|mailbox|recipient|account|person|address)/,
  /(?:user|recipient|mailbox|address|account)\b.{0,50}\b(?:does not|doesn't|not) exist/, /recipient ?not ?found/, /user ?not ?found/,
  /mailbox (?:not found|unavailable)/, /invalid (?:recipient|mailbox|user|address)/, /not a valid (?:mailbox|recipient|user)/, /no mailbox here/,
  /addressee unknown/, /bad destination mailbox/, /user not listed/, /doesn't have an? .{0,40}account/,
);
const HOST_UNKNOWN = anyOf(
  /host (?:or domain name )?not found/, /domain (?:name )?(?:not found|does not exist|unknown)/, /unknown (?:domain|host)/, /unrout(?:e)?able/,
  /no such domain/, /host unknown/, /name or service not known/, /nxdomain/, /domain is not reachable/, /could not find a gateway for/,
);

export const reasonRules: readonly ReasonRule[] = [
  // What the report says happened to the message as a whole, before what the remote server said.
  { id: 'delivered-status', match: { status: /^2\./ }, reason: 'delivered' },
  // RFC 3463 codes whose meaning no server bends: they decide before any phrase.
  { id: 'status-exceed-limit', match: { status: /^[45]\.2\.3$/ }, reason: 'exceedlimit' },
  { id: 'status-disabled-account', match: { status: /^[45]\.7\.13$/ }, reason: 'suspend' },

  // Phrases, most specific first.
  { id: 'mailer-error', match: { text: anyOf(/pipe to \|/, /mailer error/, /\bx-unix;/, /command (?:died|failed|output)/, /local delivery failed/) }, reason: 'mailererror' },
  { id: 'not-rfc-compliant', match: { text: anyOf(/\brfc ?(?:5322|2822|822) (?:compliant|standard)/, /not (?:rfc ?\d* )?compliant/, /message-id header/, /multiple (?:from|date|subject|to) headers/, /multiple addresses in from/, /duplicate header/, /bare (?:lf|linefeed)/) }, reason: 'notcompliantrfc' },
  // Before the authentication rule: such notices go on to explain SPF and DKIM to the sender.
  { id: 'spam-classified', match: { text: anyOf(/spam classification/, /classified as spam/, /judged to be spam/) }, reason: 'spamdetected' },
  { id: 'dmarc-spf-dkim', match: { text: anyOf(/\bdmarc\b/, /\bspf\b/, /\bdkim\b/, /domainkeys/, /sender policy framework/, /authentication (?:checks|information) failed/, /unauthenticated (?:e-?mail|mail|sender)/) }, reason: 'authfailure' },
  { id: 'ptr-required', match: { text: anyOf(/\bptr\b/, /reverse (?:dns|host ?name|lookup|mapping)/, /\brdns\b/, /cannot find your hostname/, /no reverse/, /unverif(?:y|i)able sending ips?/, /mismatches client ip/) }, reason: 'requireptr' },
  { id: 'tls-required', match: { text: anyOf(/starttls/, /\btls\b.{0,40}(?:required|not available|failed|negotiation|handshake)/, /encryption required/, /(?:does not|doesn't) support tls/) }, reason: 'failedstarttls' },
  { id: 'virus', match: { text: anyOf(/\bvirus/, /malware/, /infected/, /trojan/) }, reason: 'virusdetected' },
  { id: 'mailbox-full', match: { text: anyOf(/mailbox (?:is )?full/, /over ?quota/, /quota (?:exceeded|full)/, /exceeded (?:the |its |their )?(?:storage|quota)/, /storage quota/, /insufficient (?:storage|space) for/, /out of storage space/, /mailbox size limit/, /(?:inbox|mailfolder|account|mailbox) (?:is )?full/, /mailbox exceeded/, /messages in recipient's mailbox exceeded/, /disk quota/, /user has exceeded/, /not enough (?:storage|space)/) }, reason: 'mailboxfull' },
  { id: 'size-limit', match: { text: anyOf(/message (?:size|length) exceeds/, /mail size limit/, /message (?:is )?too (?:big|large)/, /size (?:limit|exceeds)/, /exceeds? .{0,40}(?:size|databytes)/, /maximum (?:message )?size/, /line limit exceeded/) }, reason: 'mesgtoobig' },
  { id: 'too-many-connections', match: { text: anyOf(/too many (?:concurrent |simultaneous |open |smtp )*(?:connections|sessions)/, /connection limit/, /too many recipients(?! this| per| in)/) }, reason: 'toomanyconn' },
  { id: 'bad-reputation', match: { text: anyOf(/reputation/, /user complaints/) }, reason: 'badreputation' },
  { id: 'rate-limited', match: { text: anyOf(/rate.?limit/, /at a rate that/, /too many (?:messages|mails|emails|recipients)/, /sending (?:rate|limit|quota)/, /unexpected volume/, /throttl/, /slow down/, /too fast/, /(?:emails|messages) per (?:hour|minute|day)/) }, reason: 'speeding' },
  { id: 'has-moved', match: { text: anyOf(/has moved/, /moved (?:to|permanently)/, /no longer (?:with|at|works) /, /new (?:e-?mail )?address is/) }, reason: 'hasmoved' },
  { id: 'relay-denied', match: { text: anyOf(/relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)/, /unable to relay/, /allowed rcpthosts/, /no relaying/, /we do not relay/, /not permitted to relay/) }, reason: 'norelaying' },
  { id: 'null-mx', match: { text: anyOf(/does not accept (?:e-?)?mail/, /not accepting (?:e-?)?mail/, /accepts no (?:e-?)?mail/, /null ?mx/, /indicated no smtp service/, /no mx record found/) }, reason: 'notaccept' },
  { id: 'account-disabled', match: { text: anyOf(/(?:account|mailbox|user)\b.{0,40}\b(?:disabled|suspended|deactivated|discontinued|inactive|locked|frozen)\b/, /(?:disabled|suspended|inactive|deactivated) (?:account|mailbox|user)/, /account (?:is|has been) blocked/) }, reason: 'suspend' },
  { id: 'blocklisted', match: { text: anyOf(/block ?list/, /black ?list/, /deny ?list/, /\bdnsbls?\b/, /\brbl\b/, /spamhaus/, /spamcop/, /blocked (?:using|by|for)/, /(?<!not )listed (?:at|on|in|by)\b/, /banned sending ip/, /connections will not be accepted/, /(?:your|sending|client) ip(?: address)? (?:has been|is|was) (?:blocked|banned|rejected|refused)/, /client host (?:\S+ )?blocked/, /please use the smtp server of your isp/, /use your provider'?s? smtp/, /dynamic (?:ip|address)/, /may not be mail exchanger/, /refused to talk to me/, /open relay/) }, reason: 'blocked' },
  // Orange's documented code for mail its filter judged spam ("Mail rejete. Mail rejected. OFR_506").
  { id: 'spam', match: { text: anyOf(/\bspam\b/, /unsolicited/, /junk (?:e-?)?mail/, /content filter/, /message content rejected/, /spam ?score/, /scored too high/, /\bube\b/, /\bofr_506\b/) }, reason: 'spamdetected' },
  { id: 'content-policy', match: { text: anyOf(/blocked because (?:its|of its) content/, /content (?:policy|presents)/) }, reason: 'policyviolation' },
  { id: 'recipient-filter', match: { text: anyOf(/blocked senders/, /rejected by (?:the )?recipient(?! domain)/, /recipient (?:has )?(?:blocked|refused)/, /sender is on .{0,30}block/, /filter(?:ed)? (?:by|rejected)/) }, reason: 'filtered' },
  { id: 'sender-rejected', match: { text: anyOf(/sender (?:address |domain )?(?:was )?(?:rejected|denied|invalid|unknown)/, /sender verif\w* failed/, /domain of sender address/, /envelope sender domain/, /sender domain (?:must exist|not found|does not exist)/, /from:? domain is invalid/, /invalid sender/, /not (?:a )?member of this (?:mailing )?list/, /permission to post/, /'send mail as'/, /not a registered gateway user/) }, reason: 'rejected' },
  // Statements that the MTA gave up after retrying, whatever the last attempt ran into.
  { id: 'gave-up', match: { text: anyOf(/retry timeout exceeded/, /message expired/, /envelope expired/, /aborted after \d/, /could not deliver for the last/, /unable to deliver this message after/, /still undelivered after/, /have been failing for a long time/) }, reason: 'expired' },
  // Every refusal of MAIL FROM is about the sender, whatever words it uses ("... does not exist").
  { id: 'mail-from-refused', match: { command: ['MAIL'] }, reason: 'rejected' },
  // Office 365 directory-based edge blocking: the tenant has no such recipient.
  { id: 'office365-recipient-access-denied', match: { text: /recipient address rejected: access denied/i }, reason: 'userunknown' },
  // Wordings that only an MTA describing its own lookup uses.
  { id: 'mta-says-no-such-recipient', match: { text: anyOf(/recipient name is not recognized/, /invalid final delivery userid/, /does not like recipient/, /unable to deliver message to <?address>? \(and other recipients/, /invalid recipient/, /address couldn't be found/, /\baddress not found\b/) }, reason: 'userunknown' },
  { id: 'user-unknown-at-rcpt', match: { text: USER_UNKNOWN, command: ['RCPT'] }, reason: 'userunknown' },
  { id: 'user-unknown-status', match: { text: USER_UNKNOWN, status: /^[45]\.1\./ }, reason: 'userunknown' },
  // Yahoo's own words for an address that does not exist ("554 delivery error: dd This user
  // doesn't have a yahoo.com account"), whichever command it answered.
  { id: 'yahoo-no-account', match: { text: /doesn't have an? (?:yahoo|ymail|rocketmail|aol)\.[a-z.]+ account/ }, reason: 'userunknown' },
  // "Unknown user" outside RCPT TO (after DATA, or not said when): a filter's wording, the address may be fine.
  { id: 'user-unknown-elsewhere', match: { text: USER_UNKNOWN }, reason: 'filtered' },
  { id: 'dns-temporary', match: { text: anyOf(HOST_UNKNOWN, /dns error/, /lookup failure/), status: /^4\./ }, reason: 'networkerror' },
  { id: 'host-unknown', match: { text: HOST_UNKNOWN }, reason: 'hostunknown' },
  { id: 'system-trouble', match: { text: anyOf(/internal (?:system )?error/, /system (?:error|failure)/, /temporar(?:y|ily) (?:local |system )?(?:problem|error)/, /temporary (?:local|system) failure/, /local (?:problem|error)/, /insufficient system/, /disk space/, /mail system (?:is )?full/, /service (?:currently |temporarily )?unavailable/, /queue file write error/, /unable to contact ldap/, /could not load\b/) }, reason: 'systemerror' },
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
  { id: 'network-trouble', match: { text: anyOf(/socket error/, /connection (?:refused|reset)/, /could not connect/, /routing loop/, /mail loop/, /too many hops/, /no route to host/, /lost connection/, /host name lookup failure/) }, reason: 'networkerror' },
  { id: 'auth-required', match: { text: anyOf(/not authenticated/, /authentication (?:is )?required/, /must (?:first )?authenticate/) }, reason: 'securityerror' },
  { id: 'policy', match: { text: anyOf(/polic(?:y|ies)/, /prohibited/, /administratively/, /access denied/, /not authori[sz]ed/, /not allowed/) }, reason: 'policyviolation' },

  // No telling phrase (or one in another language): the RFC 3463 status decides.
  { id: 'status-user-unknown', match: { status: /^5\.1\.[013]$/ }, reason: 'userunknown' },
  { id: 'status-host-unknown', match: { status: /^5\.(?:1\.2|4\.4)$/ }, reason: 'hostunknown' },
  { id: 'status-has-moved', match: { status: '5.1.6' }, reason: 'hasmoved' },
  { id: 'status-sender', match: { status: /^[45]\.1\.[78]$/ }, reason: 'rejected' },
  { id: 'status-null-mx', match: { status: /^5\.1\.10$/ }, reason: 'notaccept' },
  { id: 'status-disabled', match: { status: /^[45]\.2\.1$/ }, reason: 'suspend' },
  { id: 'status-mailbox-full', match: { status: /^[45]\.2\.2$/ }, reason: 'mailboxfull' },
  { id: 'status-too-big', match: { status: /^[45]\.3\.4$/ }, reason: 'mesgtoobig' },
  { id: 'status-not-accepting', match: { status: /^[45]\.3\.2$/ }, reason: 'notaccept' },
  { id: 'status-system', match: { status: /^[45]\.3\./ }, reason: 'systemerror' },
  { id: 'status-expired', match: { status: /^[45]\.4\.7$/ }, reason: 'expired' },
  { id: 'status-network', match: { status: /^[45]\.4\./ }, reason: 'networkerror' },
  { id: 'status-content', match: { status: /^[45]\.6\./ }, reason: 'contenterror' },
  { id: 'status-auth', match: { status: /^5\.7\.(?:2[346]|509)$/ }, reason: 'authfailure' },
  { id: 'status-ptr', match: { status: '5.7.25' }, reason: 'requireptr' },
  { id: 'status-policy', match: { status: /^5\.7\.9$/ }, reason: 'policyviolation' },
  { id: 'status-security', match: { status: /^[45]\.7\./ }, reason: 'securityerror' },
  { id: 'status-syntax', match: { status: /^[45]\.5\./ }, reason: 'syntaxerror' },
  { id: 'reply-syntax', match: { codes: [{ from: 500, to: 504 }] }, reason: 'syntaxerror' },
  { id: 'reply-permanent', match: { codes: PERMANENT }, reason: 'undefined' },
];
