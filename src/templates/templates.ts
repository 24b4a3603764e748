import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { ApiError, validationError, type ErrorDetail } from '../shared/errors.js';
import { newMessageId } from '../shared/ids.js';
import { WeightedLru } from './lru.js';
import { isPlaceholderValue, templateSyntaxProblem, type PlaceholderValue, type TemplatePart, type TemplateVersion } from './render.js';

export type { PlaceholderValue, RenderedTemplate, TemplateVersion } from './render.js';

const sql = sqlFile(new URL('./templates.sql', import.meta.url), [
  'createTemplate', 'updateTemplate', 'getTemplate', 'findTemplateId', 'listTemplates', 'listVersions', 'deleteTemplate',
] as const);

/**
 * Message templates (SPEC section 9): per account, named, versioned. A PUT writes a new version
 * with the whole content; earlier versions stay readable. Sends render a version with
 * `renderTemplate` (render.ts), looked up through `TemplateStore`.
 */
export const TEMPLATE_ID_PREFIX = 'tmpl_';
export const LIMITS = { subject: 998, bodyBytes: 1024 * 1024, defaults: 200, nameLength: 100, placeholderNameLength: 100 } as const;

export interface Template {
  id: string;
  name: string;
  /** The version shown here. */
  version: number;
  latestVersion: number;
  subject: string;
  text: string | null;
  html: string | null;
  defaults: Record<string, PlaceholderValue>;
  createdAt: string;
  updatedAt: string;
  versionCreatedAt: string;
}

export interface TemplateSummary {
  id: string;
  name: string;
  version: number;
  subject: string;
  createdAt: string;
  updatedAt: string;
}

export interface VersionSummary {
  version: number;
  subject: string;
  hasText: boolean;
  hasHtml: boolean;
  createdAt: string;
}

/** As a request gives it: `defaults` is checked here, not by the route's schema (see checkContent). */
export interface TemplateContent {
  subject: string;
  text?: string | null;
  html?: string | null;
  defaults?: Record<string, unknown>;
}

interface Row extends Record<string, unknown> {
  id: string;
  name: string;
  latest_version: number;
  version: number;
  subject: string;
  text: string | null;
  html: string | null;
  defaults: Record<string, PlaceholderValue> | string;
  created_at: Date | string;
  updated_at: Date | string;
  version_created_at: Date | string;
}

interface SummaryRow extends Record<string, unknown> {
  id: string;
  name: string;
  version: number;
  subject: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (value: Date | string) => new Date(value).toISOString();

/** jsonb arrives parsed from pg and PGlite alike; a string is tolerated in case a driver does not parse it. */
function defaultsOf(row: Row): Record<string, PlaceholderValue> {
  return typeof row.defaults === 'string' ? (JSON.parse(row.defaults) as Record<string, PlaceholderValue>) : row.defaults;
}

function fromRow(row: Row): Template {
  return {
    id: row.id, name: row.name, version: row.version, latestVersion: row.latest_version, subject: row.subject, text: row.text, html: row.html,
    defaults: defaultsOf(row), createdAt: iso(row.created_at), updatedAt: iso(row.updated_at), versionCreatedAt: iso(row.version_created_at),
  };
}

export function toTemplateVersion(template: Template): TemplateVersion {
  return { templateId: template.id, name: template.name, version: template.version, subject: template.subject, text: template.text, html: template.html, defaults: template.defaults };
}

// ---- validation ----

/** Names share the route parameter with ids, so a name must not look like one. */
function nameProblems(name: string | undefined): ErrorDetail[] {
  if (name === undefined || !name.startsWith(TEMPLATE_ID_PREFIX)) return [];
  return [{ field: 'name', message: `must not start with "${TEMPLATE_ID_PREFIX}", which marks template ids` }];
}

function partProblems(part: TemplatePart, source: string | null | undefined): ErrorDetail[] {
  if (source === null || source === undefined) return [];
  if (part !== 'subject' && Buffer.byteLength(source) > LIMITS.bodyBytes) return [{ field: part, message: `must be at most ${LIMITS.bodyBytes} bytes` }];
  if (part === 'subject' && /[\r\n\0]/.test(source)) return [{ field: part, message: 'must not contain CR, LF or NUL' }];
  const problem = templateSyntaxProblem(source);
  return problem ? [{ field: part, message: problem }] : [];
}

function defaultsProblems(defaults: Record<string, unknown>): ErrorDetail[] {
  const entries = Object.entries(defaults);
  if (entries.length > LIMITS.defaults) return [{ field: 'defaults', message: `must have at most ${LIMITS.defaults} entries` }];
  return entries.flatMap(([name, value]): ErrorDetail[] => {
    if (name.length === 0 || name.length > LIMITS.placeholderNameLength) return [{ field: `defaults.${name}`, message: `the name must be 1 to ${LIMITS.placeholderNameLength} characters` }];
    return isPlaceholderValue(value) ? [] : [{ field: `defaults.${name}`, message: 'must be a string, number or boolean' }];
  });
}

/**
 * Every problem of the content at once: sizes, syntax of each part, defaults. Default values
 * are checked here rather than by a JSON schema, whose type coercion would quietly turn null
 * into "" and ["x"] into "x".
 */
export function checkContent(content: TemplateContent & { name?: string }): void {
  const details = [
    ...nameProblems(content.name),
    ...partProblems('subject', content.subject),
    ...partProblems('text', content.text),
    ...partProblems('html', content.html),
    ...defaultsProblems(content.defaults ?? {}),
  ];
  if (!content.text && !content.html) details.push({ field: 'text', message: 'a template needs text, html or both' });
  if (details.length > 0) throw validationError(details, `The template is not valid: ${details.map((detail) => `${detail.field} ${detail.message}`).join('; ')}.`);
}

/**
 * Unsaved content as a version to render (the console's live preview): checked as a create would
 * check it, named per account so the parse cache keeps one slot per account's draft.
 */
export function draftVersion(accountId: number, content: TemplateContent): TemplateVersion {
  checkContent(content);
  return { templateId: `draft:${accountId}`, name: 'draft', version: 0, subject: content.subject, text: content.text ?? null, html: content.html ?? null, defaults: (content.defaults ?? {}) as TemplateVersion['defaults'] };
}

// ---- storage ----

/**
 * Writes bump a per-account generation, which TemplateStore checks on every look-up: a change
 * made through this process is seen at once; other processes see it within the store's TTL.
 */
const generations = new Map<number, number>();
const generationOf = (accountId: number) => generations.get(accountId) ?? 0;
function templatesChanged(accountId: number): void {
  generations.set(accountId, generationOf(accountId) + 1);
}

function contentParams(content: TemplateContent): unknown[] {
  return [content.subject, content.text || null, content.html || null, JSON.stringify(content.defaults ?? {})];
}

function nameTaken(name: string): ApiError {
  return new ApiError(409, 'CONFLICT', `This account already has a template named "${name}".`, [{ field: 'name', message: 'is taken' }]);
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

export async function createTemplate(db: Queryable, accountId: number, input: TemplateContent & { name: string }, now: Date): Promise<Template> {
  checkContent(input);
  const id = TEMPLATE_ID_PREFIX + newMessageId(now.getTime());
  const [row] = await db.query<Row>(sql.createTemplate, [id, accountId, input.name, ...contentParams(input), now]);
  if (!row) throw nameTaken(input.name);
  templatesChanged(accountId);
  return fromRow(row);
}

/** A new version with the whole content (and the new name, when given); null when there is no such template. */
export async function updateTemplate(db: Queryable, accountId: number, idOrName: string, input: TemplateContent & { name?: string }, now: Date): Promise<Template | null> {
  checkContent(input);
  try {
    const [row] = await db.query<Row>(sql.updateTemplate, [accountId, idOrName, input.name ?? null, ...contentParams(input), now]);
    if (row) templatesChanged(accountId);
    return row ? fromRow(row) : null;
  } catch (error) {
    if (isUniqueViolation(error) && input.name !== undefined) throw nameTaken(input.name);
    throw error;
  }
}

export async function getTemplate(db: Queryable, accountId: number, idOrName: string, version?: number): Promise<Template | null> {
  const [row] = await db.query<Row>(sql.getTemplate, [accountId, idOrName, version ?? null]);
  return row ? fromRow(row) : null;
}

export async function deleteTemplate(db: Queryable, accountId: number, idOrName: string): Promise<{ id: string; name: string } | null> {
  const [row] = await db.query<{ id: string; name: string }>(sql.deleteTemplate, [accountId, idOrName]);
  if (row) templatesChanged(accountId);
  return row ?? null;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export async function listTemplates(db: Queryable, accountId: number, options: { limit: number; cursor?: string }): Promise<Page<TemplateSummary>> {
  const after = options.cursor === undefined ? null : decodeNameCursor(options.cursor);
  const rows = await db.query<SummaryRow>(sql.listTemplates, [accountId, after, options.limit + 1]);
  const data = rows.slice(0, options.limit).map((row) => ({
    id: row.id, name: row.name, version: row.version, subject: row.subject, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
  }));
  const last = data.at(-1);
  return { data, nextCursor: rows.length > options.limit && last ? Buffer.from(last.name).toString('base64url') : null };
}

function decodeNameCursor(cursor: string): string | null {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  return name.length > 0 && name.length <= LIMITS.nameLength && Buffer.from(name).toString('base64url') === cursor ? name : null;
}

export function isValidNameCursor(cursor: string): boolean {
  return decodeNameCursor(cursor) !== null;
}

/** Null when there is no such template; `before` is the nextCursor (a version number) of the previous page. */
export async function listVersions(db: Queryable, accountId: number, idOrName: string, options: { limit: number; before?: number }): Promise<Page<VersionSummary> | null> {
  const [template] = await db.query<{ id: string }>(sql.findTemplateId, [accountId, idOrName]);
  if (!template) return null;
  const rows = await db.query<{ version: number; subject: string; has_text: boolean; has_html: boolean; created_at: Date | string }>(
    sql.listVersions, [accountId, template.id, options.before ?? null, options.limit + 1],
  );
  const data = rows.slice(0, options.limit).map((row) => ({ version: row.version, subject: row.subject, hasText: row.has_text, hasHtml: row.has_html, createdAt: iso(row.created_at) }));
  const last = data.at(-1);
  return { data, nextCursor: rows.length > options.limit && last ? String(last.version) : null };
}

// ---- the look-up sends use ----

/** How long a looked-up template is trusted when no write through this process says otherwise. */
const STORE_TTL_MS = 5_000;

interface Cached {
  value: TemplateVersion | null;
  generation: number;
  expiresAt: number;
}

/**
 * Looks a template up by id or by name, latest version unless `version` is given; null when
 * the account has none. Results are kept a few seconds (bounded by count and by content size),
 * and concurrent look-ups of one template share one query, so a burst of sends with one
 * template costs one round trip. A create, update or delete through this process invalidates
 * that account's entries at once.
 */
export class TemplateStore {
  private readonly cache = new WeightedLru<Cached>(1_000, 32 * 1024 * 1024);
  private readonly pending = new Map<string, { generation: number; promise: Promise<TemplateVersion | null> }>();

  constructor(private readonly db: Queryable) {}

  get(accountId: number, idOrName: string, version?: number): Promise<TemplateVersion | null> {
    const key = `${accountId}\n${version ?? ''}\n${idOrName}`;
    const generation = generationOf(accountId);
    const cached = this.cache.get(key);
    if (cached && cached.generation === generation && cached.expiresAt > performance.now()) return Promise.resolve(cached.value);
    const inFlight = this.pending.get(key);
    if (inFlight && inFlight.generation === generation) return inFlight.promise;
    const promise = this.load(key, accountId, idOrName, version, generation);
    this.pending.set(key, { generation, promise });
    return promise;
  }

  private async load(key: string, accountId: number, idOrName: string, version: number | undefined, generation: number): Promise<TemplateVersion | null> {
    try {
      const template = await getTemplate(this.db, accountId, idOrName, version);
      const value = template ? toTemplateVersion(template) : null;
      this.cache.set(key, { value, generation, expiresAt: performance.now() + STORE_TTL_MS }, weightOf(value) + key.length);
      return value;
    } finally {
      if (this.pending.get(key)?.generation === generation) this.pending.delete(key);
    }
  }
}

function weightOf(value: TemplateVersion | null): number {
  if (!value) return 0;
  return value.subject.length + (value.text?.length ?? 0) + (value.html?.length ?? 0) + JSON.stringify(value.defaults).length;
}
