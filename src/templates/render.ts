import Mustache from 'mustache';
import type { RenderOptions, TemplateSpans } from 'mustache';
import { ApiError, validationError, type ErrorDetail } from '../shared/errors.js';
import { WeightedLru } from './lru.js';

type Context = InstanceType<typeof Mustache.Context>;

/**
 * Template rendering (SPEC section 9), on mustache's parser and renderer with three changes:
 *
 * - Values come from one flat map (recipient `placeholders` over the template's `defaults`),
 *   looked up by the whole tag name: `{{user.name}}` is the placeholder "user.name", not a walk
 *   into objects. Only own keys are seen, so `{{constructor}}` is a missing placeholder, not
 *   Object's constructor.
 * - `{{name}}` is HTML-escaped in the HTML part only; subject and text take values as they are.
 *   `{{{name}}}` and `{{& name}}` are never escaped.
 * - Every placeholder the rendering reaches must have a value: all that have none are reported
 *   at once (422 PLACEHOLDER_MISSING). A section's own name (`{{#vip}}`, `{{^vip}}`) is a
 *   condition, and no value means false; variables inside a section that is not rendered are
 *   not needed. So `{{#title}}{{title}} {{/title}}{{name}}` needs only `name`.
 */
export type PlaceholderValue = string | number | boolean;

export interface TemplateVersion {
  templateId: string;
  name: string;
  version: number;
  subject: string;
  text: string | null;
  html: string | null;
  defaults: Record<string, string | number | boolean>;
}

export interface RenderedTemplate {
  subject: string;
  text: string | null;
  html: string | null;
}

export type TemplatePart = 'subject' | 'text' | 'html';

/** Looks values up in the flat map, and notes the variables that have none. */
class PlaceholderContext extends Mustache.Context {
  constructor(
    readonly values: ReadonlyMap<string, PlaceholderValue>,
    readonly missing: Set<string>,
    readonly used: Set<string>,
    view: unknown,
    parent?: PlaceholderContext,
  ) {
    super(view, parent);
  }

  override push(view: unknown): PlaceholderContext {
    return new PlaceholderContext(this.values, this.missing, this.used, view, this);
  }

  override lookup(name: string): unknown {
    return name === '.' ? this.view : this.values.get(name);
  }
}

function noteVariable(token: string[], context: Context): void {
  const name = token[1];
  if (name === undefined || name === '.' || !(context instanceof PlaceholderContext)) return;
  if (context.values.has(name)) context.used.add(name);
  else context.missing.add(name);
}

class PlaceholderWriter extends Mustache.Writer {
  // Mustache's own cache is keyed by the whole template text and never evicts; parsed templates
  // are kept in the bounded `parsed` cache below instead.
  readonly templateCache = undefined;

  override escapedValue(token: string[], context: Context, config?: RenderOptions): string {
    noteVariable(token, context);
    return super.escapedValue(token, context, config);
  }

  override unescapedValue(token: string[], context: Context): string {
    noteVariable(token, context);
    return super.unescapedValue(token, context);
  }
}

const writer = new PlaceholderWriter();
/** Subject and text are not HTML: a value goes in as it is. */
const VERBATIM: RenderOptions = { escape: (value: unknown) => String(value) };
/** Stored versions never change, so the id and version name the parse; the source is compared anyway. */
const parsed = new WeightedLru<{ source: string; spans: TemplateSpans }>(2_000, 16 * 1024 * 1024);

function spansOf(template: TemplateVersion, part: TemplatePart, source: string): TemplateSpans {
  const key = `${template.templateId}\n${template.version}\n${part}`;
  const hit = parsed.get(key);
  if (hit && hit.source === source) return hit.spans;
  const spans = writer.parse(source) as TemplateSpans;
  parsed.set(key, { source, spans }, source.length);
  return spans;
}

/** Why `source` cannot be stored as a template part, or null. Checked at create and update. */
export function templateSyntaxProblem(source: string): string | null {
  let spans: TemplateSpans;
  try {
    spans = writer.parse(source) as TemplateSpans;
  } catch (error) {
    return `is not a valid template: ${(error as Error).message}`;
  }
  return unsupportedTag(spans, false);
}

function unsupportedTag(spans: TemplateSpans, inSection: boolean): string | null {
  for (const span of spans) {
    const [type, name] = span;
    if (type === '>') return `uses the partial {{> ${name}}}; partials are not supported`;
    if ((type === 'name' || type === '&') && name === '.' && !inSection) return 'uses {{.}} outside a section, where it has no value';
    if (type === '#' || type === '^') {
      const problem = unsupportedTag(span[4] as TemplateSpans, true);
      if (problem) return problem;
    }
  }
  return null;
}

export function isPlaceholderValue(value: unknown): value is PlaceholderValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** Defaults, overridden by the recipient's values; a value that is not a scalar is the caller's 400. */
function valuesFor(defaults: Record<string, PlaceholderValue>, placeholders: Record<string, unknown> | undefined): Map<string, PlaceholderValue> {
  if (placeholders !== undefined && placeholders !== null && (typeof placeholders !== 'object' || Array.isArray(placeholders))) {
    throw validationError([{ field: 'placeholders', message: 'must be an object of name: value' }], 'placeholders must be an object of name: value.');
  }
  const values = new Map<string, PlaceholderValue>(Object.entries(defaults));
  const refused: ErrorDetail[] = [];
  for (const [name, value] of Object.entries(placeholders ?? {})) {
    if (isPlaceholderValue(value)) values.set(name, value);
    else refused.push({ field: `placeholders.${name}`, message: 'must be a string, number or boolean' });
  }
  if (refused.length > 0) {
    throw validationError(refused, `Placeholder values must be strings, numbers or booleans: ${refused.map((detail) => detail.field.slice('placeholders.'.length)).join(', ')}.`);
  }
  return values;
}

interface PartResult {
  output: string;
  used: Set<string>;
}

function renderPart(template: TemplateVersion, part: TemplatePart, source: string, values: Map<string, PlaceholderValue>, missing: Set<string>): PartResult {
  const context = new PlaceholderContext(values, missing, new Set(), '');
  const output = writer.renderTokens(spansOf(template, part, source) as unknown as string[][], context, undefined, source, part === 'html' ? undefined : VERBATIM);
  return { output, used: context.used };
}

/** A line break in the subject would end the header: name the values that put one there. */
function checkSubject(subject: PartResult, values: Map<string, PlaceholderValue>): void {
  if (!/[\r\n\0]/.test(subject.output)) return;
  const culprits = [...subject.used].filter((name) => /[\r\n\0]/.test(String(values.get(name))));
  const details = culprits.length > 0
    ? culprits.map((name) => ({ field: `placeholders.${name}`, message: 'contains a line break or NUL, which the subject cannot have' }))
    : [{ field: 'subject', message: 'must not contain CR, LF or NUL' }];
  throw validationError(details, 'The rendered subject would contain a line break.');
}

/** throws ApiError 422 PLACEHOLDER_MISSING / 400 on bad placeholder values */
export function renderTemplate(template: TemplateVersion, placeholders: Record<string, unknown> | undefined): RenderedTemplate {
  const values = valuesFor(template.defaults, placeholders);
  const missing = new Set<string>();
  const subject = renderPart(template, 'subject', template.subject, values, missing);
  const text = template.text === null ? null : renderPart(template, 'text', template.text, values, missing).output;
  const html = template.html === null ? null : renderPart(template, 'html', template.html, values, missing).output;
  if (missing.size > 0) throw missingPlaceholders(template.name, [...missing]);
  checkSubject(subject, values);
  return { subject: subject.output, text, html };
}

function missingPlaceholders(templateName: string, names: string[]): ApiError {
  return new ApiError(
    422,
    'PLACEHOLDER_MISSING',
    `The template "${templateName}" uses placeholders with no value and no default: ${names.join(', ')}.`,
    names.map((name) => ({ field: `placeholders.${name}`, message: 'has no value and the template no default' })),
  );
}

/** For tests and metrics: how much the parse cache holds. */
export function parseCacheStats(): { entries: number; characters: number } {
  return { entries: parsed.size, characters: parsed.weight };
}
