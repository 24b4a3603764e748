/**
 * The words receiving servers use for each bounce reason: one table for the delivery engine's
 * live replies (src/delivery/replyRules.ts) and the bounce parser (src/bounces/parser/reasonRules.ts),
 * so that a "mailbox full" is the same reason whether it came back in the SMTP session or in a DSN
 * a day later. Each rule table decides its own order and what codes must go with a phrase; the
 * phrases themselves live only here. Patterns are matched case-insensitively against one line of
 * text; each names where the wording comes from.
 */

/** One case-insensitive pattern from several, so that each phrase reads on its own. */
export const anyOf = (...patterns: RegExp[]): RegExp => new RegExp(patterns.map((pattern) => pattern.source).join('|'), 'i');

/**
 * The mailbox does not exist. Postfix: "User unknown in local recipient table", "User unknown in
 * virtual mailbox table" (smtpd_check.c); Exim: "Unrouteable address", "unknown user"; Sendmail:
 * "User unknown" (the 550 5.1.1 of its local mailer); qmail: "Sorry, no mailbox here by that name";
 * Exchange and Office 365: "Recipient not found", "RESOLVER.ADR.RecipNotFound", "The email account
 * that you tried to reach does not exist" (Gmail's documented 550 5.1.1); Yahoo: "This user doesn't
 * have a yahoo.com account"; Courier, Dovecot LMTP and most others: "No such user", "mailbox unavailable".
 */
export const USER_UNKNOWN = anyOf(
  /user ?unknown/, /unknown (?:user|recipient|mailbox|local.?part|or illegal alias)/, /no such (?:user|mailbox|recipient|account|person|address)/,
  /(?:user|recipient|mailbox|address|account)\b.{0,50}\b(?:does not|doesn't|not) exist/, /recipient ?not ?found/, /user ?not ?found/,
  /mailbox (?:not found|unavailable)/, /invalid (?:recipient|mailbox|user|address)/, /not a valid (?:mailbox|recipient|user)/, /no mailbox here/,
  /addressee unknown/, /bad destination mailbox/, /user not listed/, /doesn't have an? .{0,40}account/,
);

/**
 * The recipient domain does not exist or cannot be routed: Postfix "Host or domain name not found.
 * Name service error ... type=MX: Host not found" and "Domain not found"; Exim "Unrouteable address"
 * with "all relevant MX records point to non-existent hosts"; Sendmail "Host unknown (Name server:
 * ...: host not found)"; resolver errors (NXDOMAIN, getaddrinfo's "Name or service not known").
 */
export const HOST_UNKNOWN = anyOf(
  /host (?:or domain name )?not found/, /domain (?:name )?(?:not found|does not exist|unknown)/, /unknown (?:domain|host)/, /unrout(?:e)?able/,
  /no such domain/, /host unknown/, /name or service not known/, /nxdomain/, /domain is not reachable/, /could not find a gateway for/, /no mx for/,
);

/**
 * Over quota. Postfix/Dovecot "Mailbox full", "Quota exceeded (mailbox for user is full)"; Exim
 * "mailbox is full"; Gmail's documented 452/552 4.2.2 "The email account that you tried to reach is
 * over quota"; Exchange "Mailbox size limit exceeded" (5.2.2); Yahoo "user has exceeded their quota".
 */
export const MAILBOX_FULL = anyOf(
  // Not the sender's own quotas, which read the same: Gmail's 550 5.4.5 "Daily sending quota exceeded"
  // (support.google.com/a/answer/3726730) and Exchange Online's 5.2.2 "Submission quota exceeded"
  // (learn.microsoft.com, "Email non-delivery reports and SMTP errors in Exchange Online"); see RATE.
  /mailbox (?:is )?full/, /over ?quota/, /(?<!sending |submission )quota (?:exceeded|full)/, /exceeded (?:the |its |their )?(?:storage|quota)/, /storage quota/,
  /insufficient (?:storage|space) for/, /out of storage space/, /mailbox size limit/, /(?:inbox|mailfolder|account|mailbox) (?:is )?full/,
  /mailbox exceeded/, /messages in recipient's mailbox exceeded/, /disk quota/, /user has exceeded/, /not enough (?:storage|space)/,
);

/** The message is larger than the server takes: Postfix "message size exceeds fixed limit", qmail "databytes", Exchange 5.3.4 "message too big". */
export const SIZE = anyOf(/message (?:size|length)/, /mail size limit/, /too (?:big|large)/, /size (?:limit|exceeds)/, /exceeds? .{0,40}(?:size|databytes)/, /maximum (?:message )?size/, /line limit exceeded/);

/** The account exists but is turned off: Gmail "The email account that you tried to reach is disabled" (5.2.1), Yahoo and Outlook "account ... suspended/inactive". */
export const SUSPEND = anyOf(
  /(?:account|mailbox|user)\b.{0,40}\b(?:disabled|suspended|deactivated|discontinued|inactive|locked|frozen)\b/,
  /(?:disabled|suspended|inactive|deactivated) (?:account|mailbox|user)/, /account (?:is|has been) blocked/,
);

/** The recipient has moved: RFC 5321's 551 "User not local; please try <forward-path>", "has moved", "new address is". */
export const MOVED = anyOf(/has moved/, /moved (?:to|permanently)/, /no longer (?:with|at|works) /, /new (?:e-?mail )?address is/);

/** The server is not the recipient domain's and will not relay: Postfix "Relay access denied", qmail "sorry, that domain isn't in my list of allowed rcpthosts". */
export const RELAY = anyOf(/relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)/, /unable to relay/, /allowed rcpthosts/, /no relaying/, /we do not relay/, /not permitted to relay/,
  // Mimecast 451 "Open relay not allowed": the recipient domain is not one of the customer's (Mimecast community
  // docs, "Mimecast SMTP Error Codes", DOC-1369).
  /open relay not allowed/,
);

/** The domain or host accepts no mail: RFC 7505 null MX ("Domain does not accept mail", "indicated no SMTP service"), RFC 3463 X.3.2 "System not accepting network messages". */
export const NOT_ACCEPT = anyOf(
  // Not Exchange Online's 550 5.7.510 "Access denied, contoso.com does not accept email over IPv6": the
  // domain takes mail, only not unauthenticated over that protocol (learn.microsoft.com, "Email
  // non-delivery reports and SMTP errors in Exchange Online"); a hard notaccept would suppress the address.
  /does not accept (?:e-?)?mail(?! over ipv[46])/, /not accepting (?:e-?)?mail/, /accepts no (?:e-?)?mail/, /null ?mx/, /indicated no smtp service/, /no mx record found/, /not accepting network messages/,
);

/**
 * The sending IP is blocked: DNSBL refusals (Postfix "blocked using zen.spamhaus.org", Exim
 * "rejected because ... is in a black list at"), Outlook.com's "banned sending IP" and [TS0x]/[BL2x]
 * codes, Yahoo's "[TS01]", ISP rules for dynamic ranges ("please use the SMTP server of your ISP").
 */
export const BLOCKLIST = anyOf(
  /block ?list/, /black ?list/, /deny ?list/, /\bdnsbls?\b/, /\brbl\b/, /spamhaus/, /spamcop/, /blocked (?:using|by|for)/,
  /(?<!not )listed (?:at|on|in|by)\b/, /\[(?:ts0[1-3]|bl2[1-3])\]/, /banned sending ip/, /not accepted from (?:this|your) ip/,
  /connections will not be accepted/, /(?:your|sending|client) ip(?: address)? (?:has been|is|was) (?:temporarily )?(?:blocked|banned|rejected|refused)/,
  /client host (?:\S+ )?blocked/, /envelope blocked/, /blocked - see/, /\bip\b.{0,40}not authori[sz]ed to send/,
  /please use the smtp server of your isp/, /use your provider'?s? smtp/, /dynamic (?:ip|address)/, /may not be mail exchanger/,
  /refused to talk to me/,
  // Listed as an open relay; Mimecast's 451 "Open relay not allowed" is about the recipient domain (RELAY).
  /open relay(?! not allowed)/,
  // Exchange Online 550 5.7.511 (and 5.7.502/503) "Access denied, banned sender[192.0.2.1]. To request removal
  // from this list, forward this message to delist@microsoft.com" (learn.microsoft.com, "Use the delist portal
  // to remove yourself from the blocked senders list and address 5.7.511 Access denied errors").
  /access denied, banned sender\b/,
  // Outlook.com's postmaster troubleshooting page (sendersupport.olc.protection.outlook.com/pm/troubleshooting.aspx):
  // SC-001 "Hotmail does not relay dynamically-assigned IP ranges", DY-002 "The likely cause is a compromised or
  // virus infected server/personal computer" (the sending host, not the message: see VIRUS), SC-004 "A block has
  // been placed against your IP address because we have received complaints".
  /dynamically.assigned ip/, /compromised or virus infected/, /block has been placed against your ip/,
  // Yahoo, senders.yahooinc.com/smtp-error-codes: 553 5.7.2 "[TSS09] All messages from 192.0.2.1 will be
  // permanently deferred; Retrying will NOT succeed".
  /\[tss09\]/, /all messages from .{0,60} will be permanently deferred/,
);

/** Refused for reputation: Gmail "421-4.7.0 ... unusual rate of unsolicited mail ... reputation", Outlook "user complaints". */
export const REPUTATION = anyOf(/reputation/, /user complaints/);

/** The content was judged spam: Gmail 550 5.7.1 "...likely unsolicited mail", SpamAssassin scores, Orange's "OFR_506". */
export const SPAM = anyOf(/\bspam\b/, /unsolicited/, /junk (?:e-?)?mail/, /content filter/, /message content rejected/, /spam ?score/, /scored too high/, /\bube\b/, /\bofr_506\b/);

/** The message carries malware: ClamAV/amavis "Virus found", Exchange "infected". */
export const VIRUS = anyOf(
  // Not Outlook.com's DY-002 "compromised or virus infected server/personal computer", a sending host (BLOCKLIST).
  /\bvirus(?! infected (?:server|personal computer|computer|host|machine|pc)\b)/, /(?<!virus )infected/, /malware/, /trojan/,
);

/** SPF, DKIM or DMARC failed: Gmail 5.7.26 "unauthenticated email", 5.7.27 SPF, Yahoo "DMARC policy". */
export const AUTH = anyOf(
  // Not Gmail's 421 4.7.28 "Our system has detected an unusual rate of unsolicited mail originating from your SPF
  // domain [example.com]. To protect our users from spam, mail sent from your domain has been temporarily rate
  // limited" (the same with "your DKIM domain"; Gmail SMTP errors and codes, support.google.com/a/answer/3726730):
  // a rate limit on the domain's volume (RATE), as for "your IP address", not a failed authentication.
  /(?<!originating from your )\b(?:spf|dkim|dmarc)\b/, /sender policy framework/, /domainkeys/, /authentication (?:checks|information|level)/,
  /unauthenticated (?:e-?mail|mail|message|sender)/, /(?:sender|mail|message|it) is unauthenticated/,
);

/** The sending IP has no usable reverse DNS: Gmail 550 5.7.25 "...PTR record", Postfix reject_unknown_client_hostname "cannot find your hostname". */
export const PTR = anyOf(/\bptr\b/, /reverse (?:dns|host ?name|lookup|mapping)/, /\brdns\b/, /cannot find your hostname/, /no reverse/, /unverif(?:y|i)able sending ips?/, /mismatches client ip/);

/** STARTTLS required or failed: Postfix "Must issue a STARTTLS command first", Gmail 530 5.7.0. */
export const TLS = anyOf(
  // Gmail 421 4.7.29 / 550 5.7.29 "Your email has been rate limited because this message wasn't sent over a TLS
  // connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP connections" (Gmail SMTP errors
  // and codes, support.google.com/a/answer/3726730): TLS, not speed (RATE would read "rate limited").
  /(?:wasn't|was not|not) sent over a tls connection/, /starttls/, /\btls\b.{0,40}(?:required|not available|failed|negotiation|handshake)/, /encryption required/, /(?:does not|doesn't) support tls/);

/**
 * RFC 5322 violations: Gmail 550 5.7.1 "not RFC 5322 compliant", "multiple From headers"; bare LF
 * refusals (SMTP smuggling fixes). Not "rfc822" alone (an ORCPT=rfc822; parameter in a transcript)
 * and not "line too long", which on a 500 is the SMTP command line (RFC 5321 4.5.3.1.4).
 */
export const NOT_RFC = anyOf(
  /\brfc ?(?:5322|2822|822) (?:compliant|standard)/, /not (?:rfc ?\d* )?compliant/, /message-id header/, /multiple (?:from|date|subject|to) headers/,
  /multiple addresses in from/, /duplicate header/, /bare (?:lf|linefeed)/,
  // Exchange Online 550 5.7.512 "Access denied, message must be RFC 5322 section 3.6.2 compliant" (learn.microsoft.com,
  // "Email non-delivery reports and SMTP errors in Exchange Online"): a From header is missing or malformed.
  /\brfc ?(?:5322|2822) section [\d.]+ compliant/,
);

/** Too many connections or the server is busy: Postfix "too many connections from", Exchange 421 4.3.2 "server busy". */
export const CONNECTIONS = anyOf(/too many (?:concurrent |simultaneous |open |smtp )*(?:connections|sessions)/, /connection limit/, /server (?:is )?(?:too )?busy|too busy/);

/** Sending too fast: Gmail 4.7.28/5.4.5 "rate limited", Outlook 4.7.650 "throttled", Yahoo "[TS03] ... too many". */
export const RATE = anyOf(
  /rate.?limit/, /at a rate that/, /too many (?:messages|mails|emails|recipients)/, /sending (?:rate|limit|quota)/, /unexpected volume/,
  /throttl/, /reached its limit/, /slow down/, /too fast/, /(?:emails|messages) per (?:hour|minute|day)/, /exceeded .{0,40}limit/,
  // Gmail (support.google.com/a/answer/3726730): 450 4.2.1 "The user you are trying to contact is receiving mail
  // too quickly" (a 4.2.1, which alone reads as a disabled mailbox), 450 4.2.1 "Peak SMTP relay limit exceeded for
  // customer", 550 5.4.5 "Daily SMTP relay limit exceeded for user".
  /receiving (?:e-?)?mail too quickly/, /smtp relay limit exceeded/,
  // Exchange Online (learn.microsoft.com, "Email non-delivery reports and SMTP errors in Exchange Online"): 5.2.2
  // "Submission quota exceeded" (the sender's rate limits, not a full mailbox), 550 5.1.90 "Your message can't be
  // sent because you've reached your daily limit for message recipients".
  /submission quota exceeded/, /reached your daily limit/,
);

/** The envelope sender was refused: Postfix "Sender address rejected: Domain not found", sender verification failures. */
export const SENDER = anyOf(
  /sender (?:address |domain )?(?:was )?(?:rejected|denied|invalid|unknown)/, /sender verif\w* failed/, /domain of sender address/,
  /envelope sender domain/, /sender domain (?:must exist|not found|does not exist)/, /unresolvable .{0,30}from address/, /from:? domain is invalid/, /invalid sender/,
  // Exchange Online 550 5.1.8 "Access denied, bad outbound sender": the sending account is blocked for outbound spam
  // (learn.microsoft.com, "Fix email delivery issues for error code 5.1.8 in Exchange Online"); no recipient's fault.
  /bad outbound sender/,
  // Yahoo 451 "Message temporarily deferred due to unresolvable RFC.5321 from domain" (senders.yahooinc.com/smtp-error-codes).
  /unresolvable rfc.?5321 from domain/,
);

/** The recipient's own filter refused the sender: Exchange "blocked senders list", Gmail "The recipient has blocked ...". */
export const RECIPIENT_FILTER = anyOf(
  /blocked senders/, /user entry/, /:blocked\)/, /rejected by (?:the )?recipient(?! domain)/, /recipient (?:has )?(?:blocked|refused)/,
  /sender is on .{0,30}block/, /filter(?:ed)? (?:by|rejected)/,
);

/** The server wants an authenticated client: Postfix "Authentication required", Exchange 530 5.7.1 "Client was not authenticated". */
export const AUTH_REQUIRED = anyOf(/not authenticated/, /authentication (?:is )?required/, /must (?:first )?authenticate/, /authrequired/);

/** A local policy refused it, with no more telling words. */
export const POLICY = anyOf(/polic(?:y|ies)/, /prohibited/, /administratively/, /access denied/, /not authori[sz]ed/, /not allowed/);

/** Malformed MIME or headers: Exchange "5.6.0 Corrupt message content", "invalid MIME", "header line too long". */
export const CONTENT = anyOf(/invalid mime/, /mime (?:content|structure)/, /malformed/, /invalid (?:header|content)/, /header (?:line )?too long/);

/**
 * A problem of the receiving system itself (not a bare "temporary failure", which names no cause,
 * nor RFC 3463's "system not accepting network messages", which is notaccept): qmail "qq temporary problem", Postfix "Insufficient
 * system storage" (452 4.3.1), Exchange back pressure "Insufficient system resources", Sendmail
 * "queue file write error", LDAP lookups that failed, services that are down.
 */
export const SYSTEM = anyOf(
  /temporar(?:y|ily) (?:local |system )?(?:problem|error|unavailable|rejected|lookup failure)/, /temporary (?:local|system) failure/, /local (?:problem|error)/,
  /insufficient (?:system )?(?:storage|resources|disk)/, /system (?:resources|error|failure)/, /disk space/, /qq temporary problem/,
  /internal (?:system )?(?:resources|error)/, /service (?:is )?(?:currently |temporarily )?(?:not available|unavailable)/,
  /insufficient system/, /mail system (?:is )?full/, /queue file write error/, /unable to contact ldap/, /could not load\b/,
);

/**
 * The receiving system's local delivery program failed: Sendmail "unknown mailer error 1" (a
 * mailer's exit status), "Command died with status", Postfix "Command output:" of a pipe(8)
 * transport, Exim "pipe to |... failed", X-Unix; diagnostics of local mailers.
 */
export const MAILER_ERROR = anyOf(/pipe to \|/, /mailer error/, /\bx-unix;/, /command (?:died|failed|output)/, /local delivery failed/);

/**
 * Wordings only an MTA describing its own recipient lookup uses, whatever command they answered:
 * Exchange 2003 "The recipient name is not recognized", IMail "Invalid final delivery userid",
 * Sendmail's "... does not like recipient", Mimecast "Invalid Recipient", Gmail "address couldn't
 * be found" / "Address not found".
 */
export const SAYS_NO_SUCH_RECIPIENT = anyOf(
  /recipient name is not recognized/, /invalid final delivery userid/, /does not like recipient/, /unable to deliver message to <?address>? \(and other recipients/,
  /invalid recipient/, /address couldn't be found/, /\baddress not found\b/,
  // Exchange's directory lookup (learn.microsoft.com, "Email non-delivery reports and SMTP errors in Exchange Online",
  // 5.1.1 and 5.1.10): "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", "RESOLVER.ADR.ExRecipNotFound",
  // "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup".
  /\bresolver\.adr\.(?:ex)?recip(?:ient)?notfound\b/,
);

/** Yahoo's own words for an address that does not exist ("554 delivery error: dd This user doesn't have a yahoo.com account"), whichever command it answered. */
export const YAHOO_NO_ACCOUNT = /doesn't have an? (?:yahoo|ymail|rocketmail|aol)\.[a-z.]+ account/i;

/**
 * A content policy, not spam: Gmail 552 5.7.0 "This message was blocked because its content
 * presents a potential security issue" (support.google.com/a/answer/3726730).
 */
export const CONTENT_POLICY = anyOf(/blocked because (?:its|of its) content/, /content (?:policy|presents)/);

/**
 * The MTA gave up retrying, whatever its last attempt ran into: Exim "retry timeout exceeded",
 * Postfix "message expired" (maximal_queue_lifetime; Exchange's 5.4.300 "Message expired"),
 * Sendmail "Message could not be delivered for the last N days", qmail "I'm not going to try
 * again; this message has been in the queue too long", Gmail "Delivery to the following
 * recipient has been delayed ... have been failing for a long time".
 */
export const GAVE_UP = anyOf(
  /retry timeout exceeded/, /message expired/, /envelope expired/, /aborted after \d/, /could not deliver for the last/, /unable to deliver this message after/,
  /still undelivered after/, /have been failing for a long time/,
);

/**
 * Network and routing trouble: sockets and connections (Postfix "lost connection with ...",
 * "Connection refused"), and loops (Postfix "mail forwarding loop", Exim "Too many Received
 * headers", Gmail 554 5.6.0 "mail loop detected", Sendmail "Too many hops").
 */
export const NETWORK = anyOf(/socket error/, /connection (?:refused|reset)/, /could not connect/, /routing loop/, /mail (?:forwarding )?loop/, /too many hops/, /no route to host/, /lost connection/, /host name lookup failure/);
