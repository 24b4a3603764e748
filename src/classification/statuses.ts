import { HARD_REASONS, type ReplyReason } from './reasons.js';

/**
 * What an RFC 3463 enhanced status code means when no phrase of the reply says more, as its RFC
 * (or the IANA registry of enhanced status codes) defines it. One table for the delivery engine's
 * reply rules and the bounce parser's reason rules, each of which names the entries with its own
 * rule ids (stored with events, so they stay as they were released). Ordered: the first match wins.
 */
export interface StatusMeaning {
  /** Matched against the whole status, e.g. /^[45]\.2\.2$/. */
  status: RegExp;
  reason: ReplyReason;
  /** The RFC's words for the code. */
  source: string;
  /** The rule's id in the bounce parser's table and in the reply rules. */
  bounceRule: string;
  replyRule: string;
}

export const STATUS_MEANINGS: readonly StatusMeaning[] = [
  { status: /^5\.1\.[013]$/, reason: 'userunknown', source: 'RFC 3463 X.1.0 other address status, X.1.1 bad destination mailbox, X.1.3 bad mailbox syntax', bounceRule: 'status-user-unknown', replyRule: 'user-unknown-status' },
  { status: /^5\.(?:1\.2|4\.4)$/, reason: 'hostunknown', source: 'RFC 3463 X.1.2 bad destination system address, X.4.4 unable to route', bounceRule: 'status-host-unknown', replyRule: 'host-unknown-status' },
  { status: /^5\.1\.6$/, reason: 'hasmoved', source: 'RFC 3463 X.1.6 destination mailbox has moved, no forwarding address', bounceRule: 'status-has-moved', replyRule: 'has-moved-status' },
  { status: /^[45]\.1\.[78]$/, reason: 'rejected', source: "RFC 3463 X.1.7/X.1.8 bad sender's mailbox address syntax or system address", bounceRule: 'status-sender', replyRule: 'sender-status' },
  { status: /^5\.1\.10$/, reason: 'notaccept', source: 'RFC 7505 X.1.10 recipient address has null MX', bounceRule: 'status-null-mx', replyRule: 'null-mx-status' },
  { status: /^[45]\.2\.1$/, reason: 'suspend', source: 'RFC 3463 X.2.1 mailbox disabled, not accepting messages', bounceRule: 'status-disabled', replyRule: 'disabled-status' },
  { status: /^[45]\.2\.2$/, reason: 'mailboxfull', source: 'RFC 3463 X.2.2 mailbox full', bounceRule: 'status-mailbox-full', replyRule: 'mailbox-full-status' },
  { status: /^[45]\.3\.4$/, reason: 'mesgtoobig', source: 'RFC 3463 X.3.4 message too big for system', bounceRule: 'status-too-big', replyRule: 'too-big-status' },
  { status: /^[45]\.3\.2$/, reason: 'notaccept', source: 'RFC 3463 X.3.2 system not accepting network messages', bounceRule: 'status-not-accepting', replyRule: 'not-accepting-status' },
  { status: /^[45]\.3\.\d+$/, reason: 'systemerror', source: 'RFC 3463 X.3.x mail system status', bounceRule: 'status-system', replyRule: 'system-status' },
  { status: /^[45]\.4\.7$/, reason: 'expired', source: 'RFC 3463 X.4.7 delivery time expired', bounceRule: 'status-expired', replyRule: 'expired-status' },
  { status: /^[45]\.4\.\d+$/, reason: 'networkerror', source: 'RFC 3463 X.4.x network and routing status', bounceRule: 'status-network', replyRule: 'network-status' },
  { status: /^[45]\.6\.\d+$/, reason: 'contenterror', source: 'RFC 3463 X.6.x message content or media status', bounceRule: 'status-content', replyRule: 'content-status' },
  {
    status: /^5\.7\.(?:2[0-46]|29|509)$/, reason: 'authfailure',
    source: "RFC 7372 X.7.20-22 no passing, acceptable or author-matched DKIM signature, X.7.23/24 SPF failed or errored, X.7.26 several checks failed; RFC 8617 X.7.29 ARC; Microsoft's 5.7.509 DMARC",
    bounceRule: 'status-auth', replyRule: 'auth-status',
  },
  { status: /^5\.7\.25$/, reason: 'requireptr', source: 'RFC 7372 X.7.25 reverse DNS validation failed', bounceRule: 'status-ptr', replyRule: 'ptr-status' },
  { status: /^5\.7\.1[78]$/, reason: 'hasmoved', source: 'RFC 7293 X.7.17/X.7.18 mailbox or domain owner has changed', bounceRule: 'status-owner-changed', replyRule: 'owner-changed-status' },
  { status: /^5\.7\.27$/, reason: 'rejected', source: "RFC 7505 X.7.27 the sender's domain has a null MX", bounceRule: 'status-sender-null-mx', replyRule: 'sender-null-mx-status' },
  { status: /^5\.7\.28$/, reason: 'spamdetected', source: 'IANA X.7.28 part of a mail flood of similar abusive messages', bounceRule: 'status-mail-flood', replyRule: 'mail-flood-status' },
  { status: /^5\.7\.30$/, reason: 'failedstarttls', source: 'RFC 8689 X.7.30 REQUIRETLS support required', bounceRule: 'status-requiretls', replyRule: 'requiretls-status' },
  {
    status: /^[45]\.7\.\d+$/, reason: 'securityerror',
    source: 'RFC 3463 X.7.x security or policy status (RFC 4954\'s 5.7.9 is an authentication mechanism too weak, no content policy)',
    bounceRule: 'status-security', replyRule: 'security-policy-status',
  },
  { status: /^[45]\.5\.3$/, reason: 'toomanyconn', source: 'RFC 3463 X.5.3 too many recipients', bounceRule: 'status-too-many-recipients', replyRule: 'too-many-recipients-status' },
  { status: /^[45]\.5\.\d+$/, reason: 'syntaxerror', source: 'RFC 3463 X.5.x mail delivery protocol status', bounceRule: 'status-syntax', replyRule: 'syntax-status' },
];

/** Whether a permanent status alone says the address itself is bad (its meaning is a hard reason). */
export function isHardStatus(status: string): boolean {
  if (!status.startsWith('5.')) return false;
  const meaning = STATUS_MEANINGS.find((entry) => entry.status.test(status));
  return meaning !== undefined && HARD_REASONS.has(meaning.reason);
}
