import { normalizeAddress } from './address.js';
import { oneLine, untyped } from './oneLine.js';
import type { BounceKind, Finding } from './types.js';

/**
 * Amazon SES notifications delivered by e-mail through SNS: a JSON body, either the notification
 * itself or an SNS envelope whose "Message" holds it as a string. SES says what happened
 * (Bounce, Complaint, Delivery) and gives DSN-like fields per recipient.
 */
export interface SesResult {
  kind: BounceKind;
  findings: Finding[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function field(value: Json | undefined, name: string): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value[name] : undefined;
}
const str = (value: Json | undefined): string => (typeof value === 'string' ? value : '');
const list = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : []);

function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

export function readSesNotification(body: string): SesResult | null {
  // Sendmail breaks lines over 990 octets with "!" and a folded continuation; JSON does not survive that.
  const start = body.indexOf('{');
  if (start === -1) return null;
  const joined = body.slice(start).replace(/!\n /g, '');
  const end = joined.lastIndexOf('}');
  const outer = parseJson(joined.slice(0, end + 1)) ?? parseJson(joined.split(/\n--\s*\n/)[0]?.trim() ?? '');
  if (outer === undefined) return null;
  const inner = typeof field(outer, 'Message') === 'string' ? parseJson(str(field(outer, 'Message'))) : outer;
  const type = str(field(inner, 'notificationType')) || str(field(inner, 'eventType'));
  if (type === 'Bounce') return { kind: 'bounce', findings: bounces(field(inner, 'bounce')) };
  if (type === 'Complaint') return { kind: 'feedback', findings: complaints(field(inner, 'complaint')) };
  if (type === 'Delivery') return { kind: 'delivered', findings: deliveries(field(inner, 'delivery')) };
  return null;
}

function bounces(bounce: Json | undefined): Finding[] {
  const transient = str(field(bounce, 'bounceType')) === 'Transient';
  return list(field(bounce, 'bouncedRecipients')).map((recipient) => {
    const finding: Finding = {
      address: normalizeAddress(str(field(recipient, 'emailAddress'))),
      diagnostic: oneLine(untyped(str(field(recipient, 'diagnosticCode')))),
      action: str(field(recipient, 'action')) || (transient ? 'delayed' : 'failed'),
    };
    const status = str(field(recipient, 'status'));
    if (status) finding.status = status;
    return finding;
  });
}

function complaints(complaint: Json | undefined): Finding[] {
  const feedbackType = str(field(complaint, 'complaintFeedbackType')) || 'abuse';
  return list(field(complaint, 'complainedRecipients')).map((recipient) => ({
    address: normalizeAddress(str(field(recipient, 'emailAddress'))), diagnostic: '', reason: 'feedback', feedbackType,
  }));
}

function deliveries(delivery: Json | undefined): Finding[] {
  const diagnostic = oneLine(str(field(delivery, 'smtpResponse')));
  return list(field(delivery, 'recipients')).map((recipient) => ({
    address: normalizeAddress(str(recipient)), diagnostic, action: 'delivered', reason: 'delivered',
  }));
}
