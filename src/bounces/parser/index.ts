import { findAddress, findAddresses } from './address.js';
import { readSesNotification } from './amazonSes.js';
import { isFeedbackReport, readFeedbackReport } from './arf.js';
import { looksLikeAutoreply, readAutoreply } from './autoreply.js';
import { HARD_REASONS } from '../../classification/reasons.js';
import { isHardStatus } from '../../classification/statuses.js';
import { classifyReason } from './classify.js';
import { consistent, enhancedStatusOf, replyCodeOf } from './codes.js';
import { header, parseMessage, walk, type MimePart } from './mime.js';
import { oneLine } from './oneLine.js';
import { findOriginalPart, readOriginal } from './original.js';
import { readPlainText, reportText } from './plainText.js';
import { readUnknownFormat } from './unknownFormat.js';
import { dsnFieldsInText, isDsnPart, readDsnFields } from './rfc3464.js';
import type { BounceKind, BounceReason, BounceRecipient, BounceReport, Finding } from './types.js';

export type { BounceKind, BounceReason, BounceRecipient, BounceReport, OriginalMessage } from './types.js';

/**
 * Google Groups answers a post it refuses (no such group, or no permission to post) with a
 * notice in the poster's language: the reason is the sender's, whatever the words.
 */
function withFormatReason(root: MimePart, finding: Finding): Finding {
  const fromGoogle = /@google(?:mail)?\.com\b/i.test(header(root, 'from') ?? '');
  if (fromGoogle && /@googlegroups\.com$/i.test(finding.address)) return { ...finding, reason: 'rejected' };
  return finding;
}

const NOT_BOUNCES = new Set<BounceReason>(['feedback', 'vacation', 'delivered']);

/**
 * Reads one returned message: a DSN, a feedback report, an auto-reply or one of the many
 * human-readable bounce formats. Pure, synchronous, and it never throws on malformed input.
 */
export function parseBounce(raw: Buffer | string): BounceReport {
  const root = parseMessage(raw);
  const text = humanText(root);
  const original = readOriginal(root, text);
  // The bounce goes back to the sender, and quotes the sender: neither is a failed recipient.
  const exclude = [findAddress(header(root, 'to') ?? ''), findAddress(original.from ?? ''), original.returnPath ?? ''].filter(Boolean);
  const { kind, findings } = detect(root, text, exclude);
  const recipients = eachOnce(findings).map(toRecipient);
  return { kind, bounce: kind === 'bounce', recipients, original };
}

/**
 * Each recipient once, where the report first names it. Some MTAs write a recipient's DSN block
 * twice (its Original-Recipient and its Final-Recipient apart, or a delay and then the failure);
 * the failure is what counts, and a block that has a diagnostic lends it to one that has none.
 */
function eachOnce(findings: Finding[]): Finding[] {
  const positions = new Map<string, number>();
  const out: Finding[] = [];
  for (const finding of findings) {
    const key = finding.address.toLowerCase();
    const position = key ? positions.get(key) : undefined;
    if (position === undefined) {
      if (key) positions.set(key, out.length);
      out.push(finding);
      continue;
    }
    const seen = out[position]!;
    const failedLater = finding.action === 'failed' && seen.action !== 'failed';
    out[position] = failedLater ? { ...finding, diagnostic: finding.diagnostic || seen.diagnostic } : { ...seen, diagnostic: seen.diagnostic || finding.diagnostic };
  }
  return out;
}

interface Detection {
  kind: BounceKind;
  findings: Finding[];
}

function detect(root: MimePart, text: string, exclude: string[]): Detection {
  const originalPart = findOriginalPart(root);
  if (isFeedbackReport(root)) return { kind: 'feedback', findings: readFeedbackReport(root, originalPart) };

  const dsnPart = walk(root).find(isDsnPart);
  const dsn = dsnPart ? readDsnFields(dsnPart.text) : dsnFieldsInText(text);
  if (dsn.length > 0) return fromDsn(dsn, text, exclude);

  const ses = /amazonses|amazonaws/i.test(header(root, 'from') ?? '') || /^\s*\{/.test(text) ? readSesNotification(text) : null;
  if (ses) return ses;

  // RFC 6522/3464: a delivery report is one whatever else its headers say. Exchange and others
  // put `Auto-Submitted: auto-replied` on their DSNs, which RFC 3834 reserves for replies; the
  // auto-reply reading below is only for messages that are not reports.
  const report = isDeliveryReport(root);
  if (report || looksLikeBounce(root)) {
    const findings = readPlainText(text, exclude);
    if (findings.length > 0) return { kind: 'bounce', findings: findings.map((finding) => withFormatReason(root, finding)) };
    const failed = findAddresses(header(root, 'x-failed-recipients') ?? '');
    if (failed.length > 0) {
      return { kind: 'bounce', findings: failed.map((address) => withFormatReason(root, { address, diagnostic: oneLine(reportText(text)) })) };
    }
    const unknown = readUnknownFormat(text, exclude);
    if (unknown) return { kind: 'bounce', findings: [unknown] };
    if (report) return { kind: 'bounce', findings: [] };
  }
  if (looksLikeAutoreply(root)) return { kind: 'autoreply', findings: readAutoreply(root, text) };
  return { kind: 'none', findings: [] };
}

/** A multipart/report of delivery status (RFC 6522 report-type, or a delivery-status part in it). */
function isDeliveryReport(root: MimePart): boolean {
  if (root.type !== 'multipart/report') return false;
  return /delivery-status/i.test(root.params['report-type'] ?? '') || walk(root).some(isDsnPart);
}

function fromDsn(dsn: Finding[], text: string, exclude: string[]): Detection {
  if (dsn.every((finding) => /^(?:delivered|relayed|expanded|deliverable)$/.test(finding.action ?? '') || /^2\./.test(finding.status ?? ''))) {
    return { kind: 'delivered', findings: dsn.map((finding) => ({ ...finding, reason: 'delivered' })) };
  }
  // The Diagnostic-Code is often empty or generic where the text part says more: lend it the text's block.
  const fromText = readPlainText(text, exclude);
  const textByAddress = new Map<string, Finding>();
  for (const candidate of fromText) if (candidate.address && !textByAddress.has(candidate.address.toLowerCase())) textByAddress.set(candidate.address.toLowerCase(), candidate);
  const findings = dsn.map((finding, index): Finding => {
    const block = (finding.address ? textByAddress.get(finding.address.toLowerCase()) : undefined)
      ?? (fromText.length === dsn.length ? fromText[index] : undefined);
    if (!block) return finding;
    // The text part often names the refused command ("in reply to RCPT TO command") that the DSN fields leave out.
    const command = commandOf(finding) ?? commandOf(block);
    // A broken Final-Recipient ("@mx.example.org") is worth less than the address the text names.
    const merged: Finding = { ...finding, address: finding.address || block.address, diagnostic: finding.diagnostic || block.diagnostic };
    if (command) merged.command = command;
    return merged;
  });
  return { kind: 'bounce', findings };
}

const BOUNCE_FROM = /mailer-daemon|post_?master|mail delivery|mail administrator|system administrator|mmdf|mailer@|mail ?router|interscan|no-?reply@.*dion|^<>$|\bMAILER\b/i;
const BOUNCE_SUBJECT = /undeliver|undelivered|delivery (?:status|failure|has failed|notification|failed)|returned mail|mail (?:delivery )?fail|failure notice|could not be delivered|non-?delivery|delivery problem|rejected|mail system error|not (?:a )?member|warning: message|returned to sender|delay|nicht zustellbar|error/i;

function looksLikeBounce(root: MimePart): boolean {
  if (header(root, 'x-failed-recipients')) return true;
  if (BOUNCE_FROM.test(header(root, 'from') ?? '')) return true;
  if (BOUNCE_SUBJECT.test(header(root, 'subject') ?? '')) return true;
  return /^<>$/.test((header(root, 'return-path') ?? '').trim()) && root.type.startsWith('multipart/');
}

/** The human-readable report: the first text part outside the returned message. */
function humanText(root: MimePart): string {
  const inside = new Set(findOriginalPart(root) ? walk(findOriginalPart(root) as MimePart) : []);
  const parts = walk(root).filter((part) => !inside.has(part) && part.children.length === 0);
  const plain = parts.find((part) => part.type === 'text/plain') ?? parts.find((part) => part.type.startsWith('text/'))
    ?? (root.children.length === 0 ? root : undefined);
  if (!plain) return '';
  return plain.type === 'text/html' ? stripHtml(plain.text) : plain.text;
}

function stripHtml(html: string): string {
  return html.replace(/<(?:br|p|div|tr|li)[^>]*>/gi, '\n').replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&nbsp;/g, ' ');
}

const COMMANDS: Array<[RegExp, string]> = [
  [/\b(?:after|in reply to|for)\s+(?:the\s+)?(?:MAIL FROM|MAIL)\b|>>> MAIL FROM/i, 'MAIL'],
  [/\bRCPT(?:\b|_)|does not like recipient/i, 'RCPT'],
  [/\b(?:after|in reply to|for)\s+(?:the\s+)?(?:end of (?:data|message)|DATA|final DATA|TEXT)\b|did not like our (?:final )?DATA/i, 'DATA'],
  [/after initial connection|in reply to (?:the )?(?:HELO|EHLO|greeting)/i, 'CONN'],
];

function commandOf(finding: Finding): string | undefined {
  if (finding.command) return finding.command;
  return COMMANDS.find(([pattern]) => pattern.test(finding.diagnostic))?.[1];
}

function toRecipient(finding: Finding): BounceRecipient {
  const textStatus = enhancedStatusOf(finding.diagnostic);
  const replyCode = replyCodeOf(finding.diagnostic);
  // The remote server's own code is more precise than the Status field the reporting MTA filled in
  // (often a generic x.0.0, or its own idea of the failure), as long as both agree on the class.
  let status = finding.status ?? '';
  if (textStatus && (!status || status[0] === textStatus[0])) status = textStatus;
  const code = consistent(status, replyCode) ? replyCode : '';
  const reason: BounceReason = finding.reason ?? classifyReason({ text: finding.diagnostic, status, replyCode: code, command: commandOf(finding) }).reason;
  const permanent = !status.startsWith('4') && !code.startsWith('4') && finding.action !== 'delayed';
  // A format no rule knows has no reason to go on, only its codes: the class is the status's own.
  const hard = finding.unknownFormat ? isHardStatus(status) : HARD_REASONS.has(reason) && permanent && !NOT_BOUNCES.has(reason);
  const recipient: BounceRecipient = {
    address: finding.address,
    status,
    replyCode: code,
    reason,
    hard,
    diagnostic: finding.diagnostic,
  };
  if (finding.action) recipient.action = finding.action;
  if (finding.remoteMta) recipient.remoteMta = finding.remoteMta;
  if (finding.feedbackType) recipient.feedbackType = finding.feedbackType;
  return recipient;
}
