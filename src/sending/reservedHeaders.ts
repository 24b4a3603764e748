/**
 * The header fields a caller may not set through the `headers` field of a send request: the one
 * list, checked by validate.ts. Each would let a caller break what Mailroom guarantees: the MIME
 * structure it builds (a Content-Disposition on the top part turns the message into an
 * attachment), addressing and threading it writes, trace and authentication results that
 * receivers trust, its own DKIM signature, its X-Mailroom-* options (SMTP only), and the RFC 8058
 * unsubscribe fields, which must lead to Mailroom's suppression list. A field not listed here
 * (X-*, List-Id, References, In-Reply-To, Precedence, ...) is the caller's.
 */
interface ReservedRule {
  /** Lower-case names, or a lower-case prefix ending in "-". */
  names: readonly string[];
  prefixes?: readonly string[];
  why: string;
}

const RESERVED: readonly ReservedRule[] = [
  {
    names: ['from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id'],
    why: 'is set by Mailroom from the request (use the field of the same name)',
  },
  {
    names: ['mime-version'],
    prefixes: ['content-'],
    why: 'describes the MIME structure, which Mailroom builds (use text, html and attachments)',
  },
  {
    names: ['return-path', 'received', 'delivered-to', 'x-original-to', 'envelope-to', 'received-spf', 'authentication-results', 'dkim-signature', 'domainkey-signature'],
    prefixes: ['resent-', 'arc-'],
    why: 'is a trace or authentication field, which only the servers on the way may write',
  },
  {
    names: ['list-unsubscribe', 'list-unsubscribe-post'],
    why: 'is set by Mailroom (marketing mail, or unsubscribeMsg), so that an unsubscribe always reaches the suppression list',
  },
  {
    names: [],
    prefixes: ['x-mailroom-'],
    why: 'is a Mailroom option of SMTP submissions; over HTTP use the request field',
  },
];

/** Why a caller may not set this header field, or null when it may. */
export function reservedHeaderReason(name: string): string | null {
  const key = name.toLowerCase();
  const rule = RESERVED.find((candidate) => candidate.names.includes(key) || (candidate.prefixes ?? []).some((prefix) => key.startsWith(prefix)));
  return rule ? `${rule.why}; it cannot be given in headers` : null;
}

/** The RFC 8058 unsubscribe fields, which Mailroom's own replace on mail it adds an unsubscribe to. */
export const UNSUBSCRIBE_FIELDS: ReadonlySet<string> = new Set(['list-unsubscribe', 'list-unsubscribe-post']);
