import Mustache from 'mustache';

/** Pure helpers of the template editor (tested in console/test). */

export interface Placeholder {
  name: string;
  /** `section`: used only as a condition (`{{#name}}`, `{{^name}}`); `value`: its value is written somewhere. */
  kind: 'value' | 'section';
}

type Token = [string, string, number, number, Token[]?];

/**
 * The placeholders of a template's parts, in order of first use. Mustache's own parser reads
 * them, as the server does (delimiter changes, comments, triple braces); a part that does not
 * parse yet (a section being typed, not closed) is read by a lenient scan instead, so that the
 * list does not empty itself while the operator types.
 */
export function placeholdersOf(...sources: string[]): Placeholder[] {
  const found = new Map<string, Placeholder['kind']>();
  const note = (name: string, kind: Placeholder['kind']) => {
    if (name === '' || name === '.') return;
    if (!found.has(name) || kind === 'value') found.set(name, kind);
  };
  for (const source of sources) {
    let tokens: Token[];
    try {
      tokens = Mustache.parse(source) as unknown as Token[];
    } catch {
      for (const [name, kind] of scan(source)) note(name, kind);
      continue;
    }
    walk(tokens, note);
  }
  return [...found].map(([name, kind]) => ({ name, kind }));
}

function walk(tokens: Token[], note: (name: string, kind: Placeholder['kind']) => void): void {
  for (const [type, name, , , children] of tokens) {
    if (type === 'name' || type === '&') note(name, 'value');
    else if (type === '#' || type === '^') {
      note(name, 'section');
      walk(children ?? [], note);
    }
  }
}

/** Default delimiters only: `{{name}}`, `{{{name}}}`, `{{& name}}`, `{{#name}}`, `{{^name}}`. */
function scan(source: string): [string, Placeholder['kind']][] {
  const result: [string, Placeholder['kind']][] = [];
  for (const match of source.matchAll(/\{\{(\{)?\s*([#^&]?)\s*([^{}!/>=\s][^{}]*?)\s*\}?\}\}/g)) {
    const sigil = match[2] ?? '';
    result.push([match[3] ?? '', sigil === '#' || sigil === '^' ? 'section' : 'value']);
  }
  return result;
}

/** What to type for a placeholder: its value, or an empty section to fill. */
export function snippetOf(placeholder: Placeholder): string {
  return placeholder.kind === 'section' ? `{{#${placeholder.name}}}{{/${placeholder.name}}}` : `{{${placeholder.name}}}`;
}

/** `snippet` put in place of the selection [start, end) of `value`; the caret goes after it. */
export function insertAt(value: string, start: number, end: number, snippet: string): { value: string; caret: number } {
  const from = Math.max(0, Math.min(start, value.length));
  const to = Math.max(from, Math.min(end, value.length));
  return { value: value.slice(0, from) + snippet + value.slice(to), caret: from + snippet.length };
}

export type ScalarMap = Record<string, string | number | boolean>;

/**
 * A JSON object of placeholder values, as the operator types it: an empty box is no values; any
 * value that is not a string, number or boolean is named (the API would refuse it too).
 */
export function parseValues(text: string): { values: ScalarMap } | { error: string } {
  if (text.trim() === '') return { values: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { error: `is not valid JSON (${(error as Error).message})` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { error: 'must be a JSON object of name: value' };
  const wrong = Object.entries(parsed).filter(([, value]) => !['string', 'number', 'boolean'].includes(typeof value)).map(([name]) => name);
  if (wrong.length > 0) return { error: `values must be strings, numbers or booleans: ${wrong.join(', ')}` };
  return { values: parsed as ScalarMap };
}

/** The values with an entry added for each name that has none (for the operator to edit), as JSON. */
export function withSamples(values: ScalarMap, names: string[]): string {
  const next: ScalarMap = { ...values };
  for (const name of names) if (!(name in next)) next[name] = `[${name}]`;
  return JSON.stringify(next, null, 2);
}

export interface TemplateDraft {
  name: string;
  subject: string;
  html: string;
  text: string;
  defaults: string;
}

/** The body of POST/PUT /templates from the editor's fields (an empty part left out; defaults parsed by the caller). */
export function contentOf(draft: TemplateDraft, defaults: ScalarMap): { subject: string; html?: string; text?: string; defaults: ScalarMap } {
  return {
    subject: draft.subject,
    ...(draft.html.trim() === '' ? {} : { html: draft.html }),
    ...(draft.text.trim() === '' ? {} : { text: draft.text }),
    defaults,
  };
}

/** Whether the draft says what a stored version says (then that version can be previewed as it is). */
export function sameContent(a: TemplateDraft, b: TemplateDraft): boolean {
  return a.subject === b.subject && a.html === b.html && a.text === b.text && a.defaults.trim() === b.defaults.trim();
}
