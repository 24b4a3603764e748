import { sameAddress } from './address.js';
import { enhancedStatusOf, replyCodeOf } from './codes.js';
import { oneLine } from './oneLine.js';
import { originalMessageMarkers, recipientLines } from './textPatterns.js';
import type { Finding } from './types.js';

/** The report part of a plain-text bounce: everything before the copy of the returned message. */
export function reportText(text: string): string {
  let end = text.length;
  for (const marker of originalMessageMarkers) {
    const match = marker.exec(text);
    if (match && match.index < end) end = match.index;
  }
  return text.slice(0, end);
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
  const hits: Hit[] = [];
  lines.forEach((line, index) => {
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

  const findings = new Map<string, Finding>();
  chosen.forEach((hit, index) => {
    const next = chosen.slice(index + 1).find((other) => !sameAddress(other.address, hit.address));
    // A later line naming the same address (a transcript after a summary) continues this block.
    const body = lines.slice(hit.line + 1, next ? next.line : lines.length);
    // Sendmail transcripts put the refused command (">>> MAIL From:<...>", "<<< 501 ...") just above the address.
    for (let above = hit.line - 1; above >= 0 && /^\s*(?:>>>|<<<)/.test(lines[above] ?? '') && !chosen.some((other) => other.line === above); above -= 1) {
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
