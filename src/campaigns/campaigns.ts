import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { parseMailbox } from '../sending/addresses.js';
import { oneLineProblem } from '../shared/characters.js';
import { ApiError, validationError, type ErrorDetail } from '../shared/errors.js';
import { newMessageId } from '../shared/ids.js';
import { templateSyntaxProblem } from '../templates/render.js';
import type { Attributes } from '../lists/attributes.js';
import { attributesOf } from '../lists/contacts.js';

const sql = sqlFile(new URL('./campaigns.sql', import.meta.url), [
  'createCampaign', 'getCampaign', 'listCampaigns', 'lockCampaign', 'saveCampaign', 'setState', 'deleteCampaign', 'knownLists',
  'principalOf', 'contactForTest', 'ledgerPage',
] as const);

/**
 * Campaigns (issue 16, docs/CAMPAIGNS.md): one content to the subscribed members of lists minus
 * exclusion lists, always marketing mail. This module keeps their definitions and states; the
 * feeder (feeder.ts) turns a running one into messages through the send pipeline.
 */
export const CAMPAIGN_ID = /^cmp_[0-9a-z]{22}$/;
export const CAMPAIGN_STATES = ['draft', 'scheduled', 'running', 'paused', 'finished', 'canceled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];
export const CAMPAIGN_LIMITS = { name: 200, lists: 20, tags: 20, tag: 64, ratePerMinute: 1_000_000 } as const;

/** A recipient of a campaign: a contact (or, for a test send, an address and what is known of it). */
export interface CampaignRecipient {
  email: string;
  name: string | null;
  attributes: Attributes;
}

export interface CampaignCounts {
  /** The audience when it started (suppressed contacts included); null before it starts. On finish: the contacts processed. */
  total: number | null;
  /** Contacts handled so far: a message stored, or refused. */
  processed: number;
  /** Messages stored to be sent. */
  queued: number;
  /** Messages stored REJECTED: the address is on the suppression list. */
  rejected: number;
  /** Contacts the pipeline refused (a role address, a placeholder without value...): no message. */
  refused: number;
  /** total - processed, while it runs. */
  remaining: number | null;
}

export interface Campaign {
  id: string;
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
  type: 'marketing';
  trackOpens: boolean | null;
  trackClicks: boolean | null;
  sendAt: string | null;
  ratePerMinute: number | null;
  state: CampaignState;
  counts: CampaignCounts;
  /** Why it paused itself ({code, message}), until it is resumed. */
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface CampaignRow extends Record<string, unknown> {
  id: string;
  seq: number | string;
  account_id: number | string;
  operator_id: number | string;
  name: string;
  from_address: string;
  reply_to: string | null;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
  template_id: string | null;
  template_version: number | null;
  lists: string[];
  exclude_lists: string[];
  tags: string[];
  track_opens: boolean | null;
  track_clicks: boolean | null;
  send_at: Date | string | null;
  rate_per_minute: number | null;
  state: CampaignState;
  audience_at: Date | string | null;
  total: number | string | null;
  cursor: number | string;
  processed: number | string;
  queued: number | string;
  rejected: number | string;
  refused: number | string;
  error: { code: string; message: string } | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

/** The editable fields, as the API takes them (create: all; update: the ones given). */
export interface CampaignInput {
  name?: string;
  from?: string;
  replyTo?: string | null;
  subject?: string | null;
  text?: string | null;
  html?: string | null;
  templateId?: string | null;
  templateVersion?: number | null;
  lists?: string[];
  excludeLists?: string[];
  tags?: string[];
  trackOpens?: boolean | null;
  trackClicks?: boolean | null;
  sendAt?: string | null;
  ratePerMinute?: number | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value));

export function campaignOf(row: CampaignRow): Campaign {
  const total = row.total === null ? null : Number(row.total);
  const processed = Number(row.processed);
  return {
    id: row.id, name: row.name, from: row.from_address, replyTo: row.reply_to, subject: row.subject, text: row.text_body, html: row.html_body,
    templateId: row.template_id, templateVersion: row.template_version, lists: row.lists, excludeLists: row.exclude_lists, tags: row.tags,
    type: 'marketing', trackOpens: row.track_opens, trackClicks: row.track_clicks, sendAt: isoOrNull(row.send_at), ratePerMinute: row.rate_per_minute,
    state: row.state,
    counts: {
      total, processed, queued: Number(row.queued), rejected: Number(row.rejected), refused: Number(row.refused),
      remaining: total === null ? null : Math.max(0, total - processed),
    },
    error: typeof row.error === 'string' ? (JSON.parse(row.error) as Campaign['error']) : row.error,
    createdAt: iso(row.created_at), updatedAt: iso(row.updated_at), startedAt: isoOrNull(row.started_at), finishedAt: isoOrNull(row.finished_at),
  };
}

export function campaignNotFound(id: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', `No campaign ${JSON.stringify(id.slice(0, 64))} in this account.`);
}

function stateConflict(campaign: CampaignRow, action: string): ApiError {
  return new ApiError(409, 'INVALID_CAMPAIGN_STATE', `The campaign is ${campaign.state}; it cannot ${action} now.`, [{ field: 'state', message: `is ${campaign.state}` }]);
}

/** The definition as stored: the fields of a create, or a stored row with an update over it. */
type Definition = Pick<Campaign, 'name' | 'from' | 'replyTo' | 'subject' | 'text' | 'html' | 'templateId' | 'templateVersion' | 'lists' | 'excludeLists'
  | 'tags' | 'trackOpens' | 'trackClicks' | 'sendAt' | 'ratePerMinute'>;

function definitionOf(row: CampaignRow): Definition {
  const campaign = campaignOf(row);
  return {
    name: campaign.name, from: campaign.from, replyTo: campaign.replyTo, subject: campaign.subject, text: campaign.text, html: campaign.html,
    templateId: campaign.templateId, templateVersion: campaign.templateVersion, lists: campaign.lists, excludeLists: campaign.excludeLists,
    tags: campaign.tags, trackOpens: campaign.trackOpens, trackClicks: campaign.trackClicks, sendAt: campaign.sendAt, ratePerMinute: campaign.ratePerMinute,
  };
}

function merged(base: Definition, input: CampaignInput): Definition {
  const pick = <K extends keyof Definition>(key: K): Definition[K] => (input[key] === undefined ? base[key] : (input[key] as Definition[K]));
  return {
    name: pick('name'), from: pick('from'), replyTo: pick('replyTo'), subject: pick('subject'), text: pick('text'), html: pick('html'),
    templateId: pick('templateId'), templateVersion: pick('templateVersion'), lists: pick('lists'), excludeLists: pick('excludeLists'),
    tags: pick('tags'), trackOpens: pick('trackOpens'), trackClicks: pick('trackClicks'), sendAt: pick('sendAt'), ratePerMinute: pick('ratePerMinute'),
  };
}

/**
 * Every problem of a definition at once (the JSON schema has checked types and sizes): one-line
 * name, addresses, content (a template, or a subject with text or HTML, each valid mustache:
 * inline content takes the contact's placeholders too), a date, lists of this account.
 */
async function checkDefinition(db: Queryable, accountId: number, definition: Definition): Promise<Definition> {
  const details: ErrorDetail[] = [];
  const nameProblem = oneLineProblem(definition.name);
  if (nameProblem) details.push({ field: 'name', message: nameProblem });
  for (const field of ['from', 'replyTo'] as const) {
    const value = definition[field];
    if (value === null) continue;
    const parsed = parseMailbox(value);
    if (typeof parsed === 'string') details.push({ field, message: parsed });
  }
  if (definition.templateId === null) {
    if (definition.subject === null) details.push({ field: 'subject', message: 'is required without templateId' });
    if (definition.text === null && definition.html === null) details.push({ field: 'text', message: 'text or html is required without templateId' });
    if (definition.templateVersion !== null) details.push({ field: 'templateVersion', message: 'needs templateId' });
  }
  if (definition.subject !== null && /[\r\n\0]/.test(definition.subject)) details.push({ field: 'subject', message: 'must not contain CR, LF or NUL' });
  for (const part of ['subject', 'text', 'html'] as const) {
    const source = definition[part];
    const problem = source === null ? null : templateSyntaxProblem(source);
    if (problem) details.push({ field: part, message: problem });
  }
  if (definition.sendAt !== null && Number.isNaN(Date.parse(definition.sendAt))) details.push({ field: 'sendAt', message: 'is not an ISO 8601 time' });
  for (const [index, tag] of definition.tags.entries()) {
    const problem = oneLineProblem(tag);
    if (problem) details.push({ field: `tags[${index}]`, message: problem });
  }
  if (details.length > 0) throw validationError(details);
  const ids = [...definition.lists, ...definition.excludeLists];
  const known = new Set((await db.query<{ id: string }>(sql.knownLists, [accountId, ids])).map((row) => row.id));
  const unknown = [
    ...definition.lists.flatMap((id, index) => (known.has(id) ? [] : [{ field: `lists[${index}]`, message: 'names no list of this account' }])),
    ...definition.excludeLists.flatMap((id, index) => (known.has(id) ? [] : [{ field: `excludeLists[${index}]`, message: 'names no list of this account' }])),
  ];
  if (unknown.length > 0) throw new ApiError(422, 'LIST_NOT_FOUND', 'The campaign names lists this account does not have.', unknown);
  return { ...definition, sendAt: definition.sendAt === null ? null : new Date(definition.sendAt).toISOString(), tags: [...new Set(definition.tags)] };
}

function definitionParams(definition: Definition): unknown[] {
  return [
    definition.name, definition.from, definition.replyTo, definition.subject, definition.text, definition.html, definition.templateId,
    definition.templateVersion, definition.lists, definition.excludeLists, definition.tags, definition.trackOpens, definition.trackClicks,
    definition.sendAt, definition.ratePerMinute,
  ];
}

export async function createCampaign(db: Queryable, accountId: number, operatorId: number, input: CampaignInput & { name: string; from: string; lists: string[] }, now: Date): Promise<Campaign> {
  const definition = await checkDefinition(db, accountId, merged({
    name: input.name, from: input.from, replyTo: null, subject: null, text: null, html: null, templateId: null, templateVersion: null,
    lists: input.lists, excludeLists: [], tags: [], trackOpens: null, trackClicks: null, sendAt: null, ratePerMinute: null,
  }, input));
  const id = `cmp_${newMessageId(now.getTime())}`;
  const [row] = await db.query<CampaignRow>(sql.createCampaign, [id, accountId, operatorId, ...definitionParams(definition), now]);
  return campaignOf(row!);
}

/** Before a start: the lists it names may have been deleted since it was written. */
export async function checkStartable(db: Queryable, accountId: number, row: CampaignRow): Promise<void> {
  await checkDefinition(db, accountId, definitionOf(row));
}

export async function getCampaignRow(db: Queryable, accountId: number, id: string): Promise<CampaignRow | null> {
  if (!CAMPAIGN_ID.test(id)) return null;
  const [row] = await db.query<CampaignRow>(sql.getCampaign, [accountId, id]);
  return row ?? null;
}

export async function listCampaigns(db: Queryable, accountId: number, options: { limit: number; cursor?: string; state?: CampaignState }): Promise<{ items: Campaign[]; nextCursor: string | null }> {
  const cursor = options.cursor !== undefined && CAMPAIGN_ID.test(options.cursor) ? options.cursor : null;
  if (options.cursor !== undefined && cursor === null) throw validationError([{ field: 'cursor', message: 'is not a campaign id' }]);
  const rows = await db.query<CampaignRow>(sql.listCampaigns, [accountId, cursor, options.state ?? null, options.limit]);
  return { items: rows.map(campaignOf), nextCursor: rows.length === options.limit ? rows.at(-1)!.id : null };
}

/** Edits a draft or a scheduled campaign; once it has run, its content is what was sent. */
export async function updateCampaign(db: Database, accountId: number, id: string, input: CampaignInput, now: Date): Promise<Campaign | null> {
  if (!CAMPAIGN_ID.test(id)) return null;
  return db.transaction(async (tx) => {
    const [row] = await tx.query<CampaignRow>(sql.lockCampaign, [accountId, id]);
    if (!row) return null;
    if (row.state !== 'draft' && row.state !== 'scheduled') throw stateConflict(row, 'be edited');
    const definition = await checkDefinition(tx, accountId, merged(definitionOf(row), input));
    const [saved] = await tx.query<CampaignRow>(sql.saveCampaign, [accountId, id, ...definitionParams(definition), now]);
    return campaignOf(saved!);
  });
}

export async function deleteCampaign(db: Queryable, accountId: number, id: string): Promise<{ id: string; name: string; recipients: number } | null> {
  const row = await getCampaignRow(db, accountId, id);
  if (!row) return null;
  const [deleted] = await db.query<{ id: string; name: string; recipients: number | string }>(sql.deleteCampaign, [accountId, id]);
  if (!deleted) throw stateConflict(row, 'be deleted (cancel it first)');
  return { id: deleted.id, name: deleted.name, recipients: Number(deleted.recipients) };
}

export type CampaignAction = 'start' | 'pause' | 'resume' | 'cancel';

/**
 * A state change. `start` (from draft) schedules it when sendAt is ahead, else it runs: its
 * audience is fixed at that moment. `pause` (scheduled or running) stops the feeding after the
 * page being stored; `resume` runs it again (or schedules it again, if it never started and its
 * time is still ahead); `cancel` ends it for good. `pinned`: the template version to send (start).
 */
export async function changeState(db: Queryable, row: CampaignRow, action: CampaignAction, now: Date, pinned: number | null = null): Promise<Campaign> {
  const ahead = row.send_at !== null && new Date(row.send_at).getTime() > now.getTime();
  const transition: Record<CampaignAction, { from: CampaignState[]; to: CampaignState; verb: string }> = {
    start: { from: ['draft'], to: ahead ? 'scheduled' : 'running', verb: 'start (only a draft starts)' },
    pause: { from: ['scheduled', 'running'], to: 'paused', verb: 'be paused' },
    resume: { from: ['paused'], to: ahead && row.started_at === null ? 'scheduled' : 'running', verb: 'be resumed (only a paused campaign is)' },
    cancel: { from: ['draft', 'scheduled', 'running', 'paused'], to: 'canceled', verb: 'be canceled' },
  };
  const { from, to, verb } = transition[action];
  if (!from.includes(row.state)) throw stateConflict(row, verb);
  const [changed] = await db.query<CampaignRow>(sql.setState, [Number(row.account_id), row.id, to, from, now, pinned]);
  // Another request changed it meanwhile: answer from what it is now.
  if (!changed) {
    const current = await getCampaignRow(db, Number(row.account_id), row.id);
    throw current ? stateConflict(current, verb) : campaignNotFound(row.id);
  }
  return campaignOf(changed);
}

export interface CampaignPrincipalRow extends Record<string, unknown> {
  account_id: number | string;
  account_name: string;
  account_status: 'active' | 'suspended';
  account_hipaa: boolean;
  operator_id: number | string;
  operator_name: string;
}

export async function principalRow(db: Queryable, accountId: number, operatorId: number): Promise<CampaignPrincipalRow | null> {
  const [row] = await db.query<CampaignPrincipalRow>(sql.principalOf, [accountId, operatorId]);
  return row ?? null;
}

export async function contactByEmail(db: Queryable, accountId: number, email: string): Promise<CampaignRecipient | null> {
  const [row] = await db.query<{ email: string; name: string | null; attributes: Attributes | string }>(sql.contactForTest, [accountId, email.toLowerCase()]);
  return row ? { email: row.email, name: row.name, attributes: attributesOf(row.attributes) } : null;
}

export interface LedgerEntry {
  contactId: number;
  email: string | null;
  outcome: 'queued' | 'rejected' | 'refused';
  refusal: string | null;
  messageId: string | null;
  status: string | null;
  at: string;
}

/** The ledger of a campaign in contact order, after contact `after`. */
export async function ledgerPage(db: Queryable, accountId: number, campaignSeq: number, after: number, limit: number): Promise<LedgerEntry[]> {
  const rows = await db.query<{ contact_id: number | string; email: string | null; outcome: LedgerEntry['outcome']; refusal: string | null; message_id: string | null; status: string | null; created_at: Date | string }>(
    sql.ledgerPage, [accountId, campaignSeq, after, limit],
  );
  return rows.map((row) => ({
    contactId: Number(row.contact_id), email: row.email, outcome: row.outcome, refusal: row.refusal, messageId: row.message_id, status: row.status, at: iso(row.created_at),
  }));
}
