import { sameAddress } from './address.js';
import { enhancedStatusOf, replyCodeOf } from './codes.js';
import { oneLine } from './oneLine.js';
import { originalMessageMarkers, recipientLines } from './textPatterns.js';
import type { Finding } from './types.js';

/**
 * The report part of a plain-text bounce: everything before the copy of the returned message,
 * which starts at a marker line or, where the MTA wrote none, at the returned message's own
 * header block quoted inline.
 */
export function reportText(text: string): string {
  let end = text.length;
  for (const marker of originalMessageMarkers) {
    const match = marker.exec(text);
    if (match && match.index < end) end = match.index;
  }
  const inline = inlineOriginalStart(text.slice(0, end));
  return text.slice(0, inline ?? end);
}

/**
 * The fields of an RFC 5322 message header, as the returned message's quoted header shows them.
 * Not the DSN's own per-recipient fields (Final-Recipient, Action, Status...), which a report may
 * paste into its text and which name the failed recipient.
 */
const MESSAGE_FIELD = /^(?:received|from|to|cc|bcc|reply-to|sender|subject|date|message-id|in-reply-to|references|return-path|delivered-to|mime-version|content-[\w-]+|list-[\w-]+|x-[\w-]+|dkim-signature|domainkey-signature|authentication-results|arc-[\w-]+|precedence|errors-to|resent-[\w-]+|thread-[\w-]+|importance|organization|user-agent):[ \t]/i;

/**
 * The lines that belong to a quoted header field of the returned message (the field's line and its
 * folded continuations): an address on them (`To:`, `Cc:`, `Reply-To:`, `List-Post:`, a folded
 * `To:` list) is the returned message's, never a failed recipient (a bounced newsletter's
 * `List-*` fields name the list itself).
 */
export function quotedHeaderLines(lines: readonly string[]): Set<number> {
  const quoted = new Set<number>();
  let inField = false;
  lines.forEach((line, index) => {
    if (MESSAGE_FIELD.test(line)) inField = true;
    else if (!(inField && /^[ \t]+\S/.test(line))) inField = false;
    if (inField) quoted.add(index);
  });
  return quoted;
}

/**
 * Where a returned message quoted without a marker line starts: a block of at least three header
 * fields in a row (continuations included) that has a From or Received and a To, Subject, Date or
 * Message-ID. A report's own lines do not look like that.
 */
function inlineOriginalStart(text: string): number | null {
  const lines = text.split('\n');
  let offset = 0;
  let blockStart = 0;
  let names = new Set<string>();
  let fields = 0;
  const qualifies = () => fields >= 3 && (names.has('from') || names.has('received')) && ['to', 'subject', 'date', 'message-id'].some((name) => names.has(name));
  for (const line of lines) {
    const field = MESSAGE_FIELD.test(line) ? /^([\w-]+):/.exec(line)?.[1]?.toLowerCase() : undefined;
    if (field) {
      if (fields === 0) blockStart = offset;
      names.add(field);
      fields += 1;
    } else if (!(fields > 0 && /^[ \t]+\S/.test(line))) {
      if (qualifies()) return blockStart;
      names = new Set();
      fields = 0;
    }
    offset += line.length + 1;
  }
  return qualifies() ? blockStart : null;
}

interface Hit {
  line: number;
  address: string;
  rest: string;
}

/**
 * Finds the failed recipients of a human-readable bounce with the recipient-line patterns, and
 * gives each the lines up to the next one as its diagnostic. Addresses in `exclude` (the sender,
 * to whom the bounce is sent) are skipped unless nothing else is left.
 */
export function readPlainText(text: string, exclude: readonly string[]): Finding[] {
  const lines = reportText(text).split('\n');
  const quoted = quotedHeaderLines(lines);
  const hits: Hit[] = [];
  lines.forEach((line, index) => {
    if (quoted.has(index)) return;
    for (const { pattern, keepLine } of recipientLines) {
      const match = pattern.exec(line);
      const address = match?.groups?.addr;
      if (address) {
        hits.push({ line: index, address: normalize(address), rest: keepLine ? line.trim() : match.groups?.rest?.trim() ?? '' });
        return;
      }
    }
  });
  const wanted = hits.filter((hit) => !exclude.some((address) => sameAddress(address, hit.address)));
  const chosen = wanted.length > 0 ? wanted : hits;

  // Linear in the number of hits: a report of 50,000 recipient lines is input from anyone.
  const hitLines = new Set(chosen.map((hit) => hit.line));
  // For each hit, the next one naming another address (a run of the same address shares it).
  const nextOther: Array<Hit | undefined> = [];
  for (let index = chosen.length - 1; index >= 0; index -= 1) {
    const following = chosen[index + 1];
    nextOther[index] = following && !sameAddress(following.address, chosen[index]!.address) ? following : nextOther[index + 1];
  }
  const findings = new Map<string, Finding>();
  chosen.forEach((hit, index) => {
    if (findings.get(hit.address.toLowerCase())?.diagnostic) return;
    const next = nextOther[index];
    // A later line naming the same address (a transcript after a summary) continues this block.
    const body = lines.slice(hit.line + 1, next ? next.line : lines.length);
    // Sendmail transcripts put the refused command (">>> MAIL From:<...>", "<<< 501 ...") just above the address.
    for (let above = hit.line - 1; above >= 0 && /^\s*(?:>>>|<<<)/.test(lines[above] ?? '') && !hitLines.has(above); above -= 1) {
      body.unshift(lines[above] ?? '');
    }
    const diagnostic = oneLine([hit.rest, ...body].join('\n'));
    const key = hit.address.toLowerCase();
    const seen = findings.get(key);
    if (!seen) findings.set(key, { address: hit.address, diagnostic });
    else if (!seen.diagnostic) seen.diagnostic = diagnostic;
  });
  // Some formats state the reason above the address ("Error: Invalid user address ... RCPT TO: addr"):
  // with one recipient and no code in its block, the preamble is its diagnostic too.
  const only = findings.size === 1 ? [...findings.values()][0] : undefined;
  const first = chosen[0];
  if (only && first && !replyCodeOf(only.diagnostic) && !enhancedStatusOf(only.diagnostic)) {
    only.diagnostic = oneLine([lines.slice(0, first.line).join('\n'), only.diagnostic].join('\n'));
  }
  // Reports written twice (mail.ru: Russian, then English) name each address again: the first block counts.
  return [...findings.values()];
}

function normalize(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase().replace(/\.$/, '')}`;
}
