import { findAddress } from './address.js';
import { header, type MimePart } from './mime.js';
import { oneLine } from './oneLine.js';
import type { Finding } from './types.js';

/**
 * RFC 3834 automatic responses (vacation, out of office). They tell about a person, not a
 * mailbox: never a bounce. Recognised by the standard Auto-Submitted header or by what vacation
 * programs put in the subject and their own headers.
 */
const SUBJECT = /^(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|out of (?:the )?office|vacation|away from|abwesenheit|r[ée]ponse automatique|自動応答)|\b(?:out of (?:the )?office|on vacation|auto-?reply)\b/i;
const VENDOR_HEADERS = ['x-autoreply', 'x-autorespond', 'x-apple-action', 'x-vacation'];

export function looksLikeAutoreply(root: MimePart): boolean {
  const autoSubmitted = (header(root, 'auto-submitted') ?? '').toLowerCase();
  if (autoSubmitted.startsWith('auto-replied')) return true;
  if (/auto_?reply/i.test(header(root, 'precedence') ?? '')) return true;
  if (VENDOR_HEADERS.some((name) => header(root, name) !== undefined)) return true;
  return SUBJECT.test(header(root, 'subject') ?? '');
}

/** The person who is away is the one who wrote the auto-reply. */
export function readAutoreply(root: MimePart, text: string): Finding[] {
  const address = findAddress(header(root, 'from') ?? '') || findAddress(header(root, 'reply-to') ?? '');
  return [{ address, diagnostic: oneLine(text).slice(0, 300), reason: 'vacation' }];
}
