import type { ErrorDetail } from '../shared/errors.js';
import { fieldValue, type HeaderField } from './rawMessage.js';
import { REPORTING_ID, TAG } from './validate.js';

/**
 * The `X-Mailroom-*` header fields: what an SMTP client sets that an HTTP caller would put in the
 * request body. They are read here and removed before the message is stored; the same limits
 * apply as to the HTTP fields.
 */
export interface MailroomOptions {
  externalId: string | null;
  clientId: string | null;
  callbacks: string[];
  campaignId: string | null;
  tags: string[];
  trackOpens: boolean | null;
  trackClicks: boolean | null;
  /** X-Mailroom-Type: marketing mail always carries an unsubscribe link. */
  type: 'transactional' | 'marketing';
  idempotencyKey: string | null;
}

export const MAILROOM_PREFIX = 'x-mailroom-';
const KNOWN = new Set(['external-id', 'client-id', 'callbacks', 'campaign', 'tags', 'track', 'type', 'idempotency-key']);
const LIST_SEPARATOR = /[\s,]+/;

export function readMailroomOptions(fields: readonly HeaderField[]): { options: MailroomOptions; details: ErrorDetail[] } {
  const details: ErrorDetail[] = [];
  const values = new Map<string, string>();
  for (const field of fields) {
    if (!field.key.startsWith(MAILROOM_PREFIX)) continue;
    const name = field.key.slice(MAILROOM_PREFIX.length);
    const header = headerName(name);
    if (!KNOWN.has(name)) details.push({ field: header, message: `is not a Mailroom header (known: ${[...KNOWN].map(headerName).join(', ')})` });
    else if (values.has(name)) details.push({ field: header, message: 'is given more than once' });
    else values.set(name, fieldValue(field));
  }
  const text = (name: string, max: number, pattern?: RegExp): string | null => {
    const value = values.get(name);
    if (value === undefined || value === '') return null;
    if (value.length > max) details.push({ field: headerName(name), message: `must be at most ${max} characters` });
    else if (pattern && !pattern.test(value)) details.push({ field: headerName(name), message: 'may hold only letters, digits, ".", "_", ":" and "-"' });
    return value;
  };
  const list = (name: string, maxItems: number, maxLength: number, pattern?: RegExp): string[] => {
    const value = values.get(name);
    if (value === undefined) return [];
    const items = value.split(LIST_SEPARATOR).filter(Boolean);
    if (items.length > maxItems) details.push({ field: headerName(name), message: `may list at most ${maxItems} items` });
    items.forEach((item, index) => {
      if (item.length > maxLength) details.push({ field: `${headerName(name)}[${index}]`, message: `must be at most ${maxLength} characters` });
      else if (pattern && !pattern.test(item)) details.push({ field: `${headerName(name)}[${index}]`, message: 'is not valid here' });
    });
    return items;
  };

  const options: MailroomOptions = {
    externalId: text('external-id', 256, REPORTING_ID),
    clientId: text('client-id', 256),
    callbacks: list('callbacks', 10, 2048, /^https?:\/\/\S+$/i),
    campaignId: text('campaign', 256, REPORTING_ID),
    tags: list('tags', 20, 64, TAG),
    trackOpens: null,
    trackClicks: null,
    type: 'transactional',
    idempotencyKey: text('idempotency-key', 255, /^[\x21-\x7e]+$/),
  };
  const type = values.get('type')?.trim().toLowerCase();
  if (type === 'marketing' || type === 'transactional') options.type = type;
  else if (type !== undefined) details.push({ field: 'X-Mailroom-Type', message: 'must be "transactional" or "marketing"' });
  const track = values.get('track');
  if (track !== undefined) {
    const words = track.toLowerCase().split(LIST_SEPARATOR).filter(Boolean);
    if (words.length === 0 || words.some((word) => !['opens', 'clicks', 'none'].includes(word)) || (words.includes('none') && words.length > 1)) {
      details.push({ field: 'X-Mailroom-Track', message: 'must be "opens", "clicks", "opens, clicks" or "none"' });
    } else {
      options.trackOpens = words.includes('opens');
      options.trackClicks = words.includes('clicks');
    }
  }
  return { options, details };
}

function headerName(suffix: string): string {
  return `X-Mailroom-${suffix.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase())}`;
}
