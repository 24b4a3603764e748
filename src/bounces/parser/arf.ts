import { findAddress, typedAddress } from './address.js';
import { header, parseHeaderBlock, walk, type MimePart } from './mime.js';
import type { Finding } from './types.js';

/**
 * RFC 5965 feedback reports (complaints, DMARC failure reports): a message/feedback-report part
 * with Feedback-Type, and the complained-about message attached. The recipient that complained is
 * Original-Rcpt-To when the provider reveals it, else the To of the attached message.
 */
export function isFeedbackReport(root: MimePart): boolean {
  return (root.type === 'multipart/report' && /feedback-report/i.test(root.params['report-type'] ?? ''))
    || walk(root).some((part) => part.type === 'message/feedback-report');
}

export function readFeedbackReport(root: MimePart, original: MimePart | undefined): Finding[] {
  const report = walk(root).find((part) => part.type === 'message/feedback-report');
  const fields = new Map<string, string>();
  for (const [name, value] of parseHeaderBlock(report?.text ?? '')) if (!fields.has(name)) fields.set(name, value);
  const feedbackType = (fields.get('feedback-type') ?? 'abuse').toLowerCase().trim();
  const address = typedAddress(fields.get('original-rcpt-to') ?? '') || typedAddress(fields.get('removal-recipient') ?? '')
    || findAddress((original && header(original, 'to')) ?? '') || findAddress(header(root, 'to') ?? '');
  return [{ address, diagnostic: '', reason: 'feedback', feedbackType }];
}
