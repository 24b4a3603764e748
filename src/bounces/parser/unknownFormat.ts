import { findAddresses, sameAddress } from './address.js';
import { enhancedStatusOf, replyCodeOf } from './codes.js';
import { oneLine } from './oneLine.js';
import { quotedHeaderLines, reportText } from './plainText.js';
import type { Finding } from './types.js';

/** The reporting system's own role addresses ("contact postmaster@..."): never the failed recipient. */
const REPORTING_ROLES = /^(?:postmaster|mailer-daemon|abuse|hostmaster|root)@/i;

/**
 * A bounce in a format no recipient-line pattern knows still says something: the failed address
 * is one it names in its own words (not the sender, not a quoted header of the returned message),
 * and a reply code or RFC 3463 status anywhere in the report gives the class. No phrase rule is
 * trusted on a text whose shape is unknown: the reason is 'undefined', never a confident guess.
 * Nothing is returned when the report names no code at all: then there is nothing to go on.
 */
export function readUnknownFormat(text: string, exclude: readonly string[]): Finding | null {
  const report = reportText(text);
  const lines = report.split('\n');
  const quoted = quotedHeaderLines(lines);
  const own = lines.filter((_, index) => !quoted.has(index)).join('\n');
  const status = enhancedStatusOf(own);
  const replyCode = replyCodeOf(own);
  if (!/^[45]/.test(status) && !/^[45]/.test(replyCode)) return null;
  const address = findAddresses(own).find((candidate) => !REPORTING_ROLES.test(candidate) && !exclude.some((excluded) => sameAddress(excluded, candidate))) ?? '';
  const finding: Finding = { address, diagnostic: oneLine(own), reason: 'undefined', unknownFormat: true };
  if (status) finding.status = status;
  return finding;
}
