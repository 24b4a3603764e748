/** The campaign editor's pure parts (tested in console/test): the form's values to the API's body and back, and errors by field. */

export type Tracking = 'default' | 'on' | 'off';

/** What a campaign's definition holds, as GET /campaigns/{id} answers it. */
export interface CampaignDefinition {
  name: string;
  from: string;
  replyTo: string | null;
  subject: string | null;
  text: string | null;
  html: string | null;
  templateId: string | null;
  templateVersion: number | null;
  lists: string[];
  excludeLists: string[];
  tags: string[];
  trackOpens: boolean | null;
  trackClicks: boolean | null;
  sendAt: string | null;
  ratePerMinute: number | null;
}

/** The editor's values: strings as the inputs hold them. */
export interface CampaignForm {
  name: string;
  from: string;
  replyTo: string;
  subject: string;
  content: 'inline' | 'template';
  html: string;
  text: string;
  templateId: string;
  templateVersion: string;
  lists: string[];
  excludeLists: string[];
  tags: string[];
  trackOpens: Tracking;
  trackClicks: Tracking;
  /** A datetime-local value (the browser's time zone), empty for "when started". */
  sendAt: string;
  ratePerMinute: string;
}

export const EMPTY_FORM: CampaignForm = {
  name: '', from: '', replyTo: '', subject: '', content: 'inline', html: '', text: '', templateId: '', templateVersion: '',
  lists: [], excludeLists: [], tags: [], trackOpens: 'default', trackClicks: 'default', sendAt: '', ratePerMinute: '',
};

const trackingOf = (value: boolean | null): Tracking => (value === null ? 'default' : value ? 'on' : 'off');
const trackingValue = (value: Tracking): boolean | null => (value === 'default' ? null : value === 'on');
const pad = (value: number) => String(value).padStart(2, '0');

/** An ISO time as a datetime-local value in the browser's zone ("2026-12-24T09:00"). */
export function localInputOf(iso: string | null): string {
  if (iso === null) return '';
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return '';
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}T${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

export function formOf(campaign: CampaignDefinition): CampaignForm {
  return {
    name: campaign.name, from: campaign.from, replyTo: campaign.replyTo ?? '', subject: campaign.subject ?? '',
    content: campaign.templateId === null ? 'inline' : 'template', html: campaign.html ?? '', text: campaign.text ?? '',
    templateId: campaign.templateId ?? '', templateVersion: campaign.templateVersion === null ? '' : String(campaign.templateVersion),
    lists: campaign.lists, excludeLists: campaign.excludeLists, tags: campaign.tags,
    trackOpens: trackingOf(campaign.trackOpens), trackClicks: trackingOf(campaign.trackClicks),
    sendAt: localInputOf(campaign.sendAt), ratePerMinute: campaign.ratePerMinute === null ? '' : String(campaign.ratePerMinute),
  };
}

/** An optional text: empty is null (which clears the field on an edit). */
const textOrNull = (value: string): string | null => (value.trim() === '' ? null : value);

/** A whole number as a number; anything else is sent as typed, for the API to name the field that is wrong. */
function integerOrNull(value: string): number | string | null {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** A datetime-local value as ISO 8601 with its zone (the browser's), or as typed when it is no time. */
function sendAtOf(value: string): string | null {
  if (value.trim() === '') return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? value : time.toISOString();
}

/** Every field as the API takes it: null for the empty ones, and the other content mode's fields null. */
function fieldsOf(form: CampaignForm): Record<string, unknown> {
  const inline = form.content === 'inline';
  return {
    name: form.name.trim(),
    from: form.from.trim(),
    replyTo: textOrNull(form.replyTo.trim()),
    subject: textOrNull(form.subject),
    html: inline ? textOrNull(form.html) : null,
    text: inline ? textOrNull(form.text) : null,
    templateId: inline ? null : textOrNull(form.templateId.trim()),
    templateVersion: inline ? null : integerOrNull(form.templateVersion),
    lists: form.lists,
    excludeLists: form.excludeLists,
    tags: form.tags.map((tag) => tag.trim()).filter((tag) => tag !== ''),
    trackOpens: trackingValue(form.trackOpens),
    trackClicks: trackingValue(form.trackClicks),
    sendAt: sendAtOf(form.sendAt),
    ratePerMinute: integerOrNull(form.ratePerMinute),
  };
}

/**
 * The body of POST /campaigns (`before` null) or PATCH /campaigns/{id}: a create leaves the empty
 * fields out, an edit sends only what changed (null where a field was cleared). A null is sent
 * only to clear, because the API's validator (src/http/validation.ts, Ajv's coerceTypes over
 * `[type, null]` unions) takes a null `trackOpens`/`trackClicks` as false and a null `sendAt` as
 * "" (refused). Nothing else is checked here: the API's answer names each field that is wrong,
 * and the editor shows it there.
 */
export function bodyOf(form: CampaignForm, before: CampaignDefinition | null): Record<string, unknown> {
  const fields = Object.entries(fieldsOf(form));
  if (before === null) return Object.fromEntries(fields.filter(([, value]) => value !== null));
  const previous = fieldsOf(formOf(before));
  return Object.fromEntries(fields.filter(([name, value]) => JSON.stringify(value) !== JSON.stringify(previous[name])));
}

/**
 * The API's error details by the form's field: "lists[1]" and "tags[0]" are the lists and tags
 * inputs; "" (the body as a whole) is kept under "". Several problems of one field are joined.
 */
export function fieldErrors(details: readonly { field: string; message: string }[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const { field, message } of details) {
    const name = field.split(/[.[]/)[0] ?? '';
    const text = field.includes('[') ? `${field} ${message}` : message;
    errors[name] = errors[name] ? `${errors[name]}; ${text}` : text;
  }
  return errors;
}
