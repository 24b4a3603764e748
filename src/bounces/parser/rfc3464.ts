import { typedAddress } from './address.js';
import { parseHeaderBlock, type MimePart } from './mime.js';
import { oneLine, untyped } from './oneLine.js';
import type { Finding } from './types.js';

/**
 * RFC 3464 delivery status notifications: the message/delivery-status part holds one block of
 * per-message fields, then one block per recipient. The same fields are also found pasted into a
 * text part by MTAs that do not build a multipart/report (Amazon WorkMail, some appliances).
 */
const DSN_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);

export function isDsnPart(part: MimePart): boolean {
  return DSN_TYPES.has(part.type);
}

export function readDsnFields(text: string): Finding[] {
  const groups: Array<Map<string, string>> = [];
  // Blocks are separated by blank lines; within one block a repeated *-Recipient field starts the next recipient.
  for (const block of text.split(/\n[ \t]*\n/)) {
    let current: Map<string, string> | null = null;
    for (const [name, value] of parseHeaderBlock(block)) {
      if (!current || (RECIPIENT_FIELDS.has(name) && current.has(name))) {
        current = new Map();
        groups.push(current);
      }
      if (!current.has(name)) current.set(name, value);
    }
  }
  return groups
    .filter((fields) => [...RECIPIENT_FIELDS].some((name) => fields.has(name)))
    .map(toFinding)
    .filter((finding): finding is Finding => finding !== null);
}

const RECIPIENT_FIELDS = new Set(['final-recipient', 'original-recipient']);

function toFinding(fields: Map<string, string>): Finding | null {
  const address = typedAddress(fields.get('final-recipient') ?? '') || typedAddress(fields.get('original-recipient') ?? '')
    || typedAddress(fields.get('x-actual-recipient') ?? '');
  const diagnostic = oneLine(untyped(fields.get('diagnostic-code') ?? ''));
  const finding: Finding = { address, diagnostic };
  const status = /[245]\.\d{1,3}\.\d{1,3}/.exec(fields.get('status') ?? '')?.[0];
  if (status) finding.status = status;
  const action = fields.get('action')?.toLowerCase().replace(/\s*\(.*$/, '').trim();
  if (action) finding.action = action;
  const remoteMta = untyped(fields.get('remote-mta') ?? '');
  if (remoteMta) finding.remoteMta = remoteMta;
  return address || diagnostic || status ? finding : null;
}

/** DSN fields written into a plain text part: taken only when they name a recipient. */
export function dsnFieldsInText(text: string): Finding[] {
  if (!/^\s*final-recipient\s*:/im.test(text)) return [];
  const lines = text.split('\n').map((line) => line.replace(/^\s+(?=[\w-]+:)/, ''));
  return readDsnFields(lines.join('\n')).filter((finding) => finding.address);
}
