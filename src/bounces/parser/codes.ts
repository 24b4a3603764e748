/**
 * Finding SMTP reply codes and RFC 3463 enhanced status codes in diagnostic text. Both are
 * looked for where servers put them, and an enhanced code is only believed when nothing around
 * it makes it look like an IP address, a version or a date.
 */

// Not touching digits or dots on either side: 192.0.2.153 and 8.14.4 are not codes.
const ENHANCED = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)(?!\.\d)/g;
const REPLY = /(?<![\d.:/#-])([45][0-5]\d)(?=[ -]|$)(?![\d.])/;

/**
 * The last failure code (4.x.x or 5.x.x) of the text: relaying MTAs wrap the remote server's reply
 * in their own ("554 4.4.7 Message expired: <421 4.4.2 Connection timed out>"), and the innermost,
 * written last, says what actually happened. A transcript's 2.x.x successes are not the news.
 */
export function enhancedStatusOf(text: string): string {
  let failure = '';
  let success = '';
  for (const match of text.matchAll(ENHANCED)) {
    const [found, klass, subject, detail] = match;
    if (Number(subject) > 7 || Number(detail) > 999) continue;
    if (klass === '2') success ||= found;
    else failure = found;
  }
  return failure || success;
}

/**
 * The reply code opening the diagnostic or following "smtp;", "said:", "host ...:". Codes later in
 * free text ("Error 451 ..." inside a sentence) are taken only when the text has no better one.
 */
export function replyCodeOf(text: string): string {
  const leading = /^(?:(?:smtp|x-[\w-]+)\s*;\s*)?\(?([245][0-5]\d)(?:[ -]|$)/i.exec(text.trim());
  if (leading?.[1]) return leading[1];
  const afterColon = /(?:[:;>\]]|said|returned was)\s+([45][0-5]\d)(?:[ -]|$)(?![\d.])/i.exec(text);
  if (afterColon?.[1]) return afterColon[1];
  return REPLY.exec(text)?.[1] ?? '';
}

/** A reply code and an enhanced code must agree on the class: "550 4.2.2" says two things. */
export function consistent(status: string, replyCode: string): boolean {
  return !status || !replyCode || status[0] === replyCode[0];
}
