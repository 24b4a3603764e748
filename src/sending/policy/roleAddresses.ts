/**
 * Local parts that name a function, not a person (RFC 2142 and the lists mailbox providers and
 * Email APIs refuse by default): mail to them is read by no one who asked for it, or by the very
 * people who file complaints. Refused unless the account allows them (PATCH /account).
 */
const ROLE_LOCAL_PARTS = new Set([
  'abuse', 'admin', 'administrator', 'devnull', 'dns', 'ftp', 'hostmaster', 'mailer-daemon', 'maildaemon',
  'news', 'noc', 'no-reply', 'noreply', 'null', 'postmaster', 'root', 'security', 'spam', 'support',
  'sysadmin', 'undisclosed-recipients', 'usenet', 'uucp', 'webmaster', 'www',
]);

/** The role a recipient address names, or null. A "+tag" does not hide it (support+x@ is still support@). */
export function roleOf(address: string): string | null {
  const local = address.slice(0, address.lastIndexOf('@')).toLowerCase().replace(/\+.*$/, '');
  return ROLE_LOCAL_PARTS.has(local) ? local : null;
}

const NO_REPLY = /^(no[-_.]?reply|do[-_.]?not[-_.]?reply|noreply)([-_.+].*)?$/i;

/** A sender nobody can answer: accepted, with a warning (recipients cannot reply, and some filters hold it against the mail). */
export function isNoReply(address: string): boolean {
  return NO_REPLY.test(address.slice(0, address.lastIndexOf('@')));
}
