import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { CliOptions } from '../options.js';
import { clientFromEnv, ClientUsageError, type ApiClient } from './http.js';

/**
 * Templates in a repository: NAME.json holds {"subject", "defaults"?, "text"?, "html"?}; a
 * NAME.txt or NAME.html beside it holds that part instead (easier to edit and to diff). The
 * template's name is the file's. push writes a new version only for a template whose content
 * changed, so pushing the same files twice changes nothing.
 */
interface TemplateContent {
  subject: string;
  text: string | null;
  html: string | null;
  defaults: Record<string, unknown>;
}
interface StoredTemplate extends TemplateContent { id: string; name: string; version: number }

function readTemplateFile(file: string): { name: string; content: TemplateContent } {
  const name = basename(file, extname(file));
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ClientUsageError(`${file}: not JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || typeof parsed.subject !== 'string') throw new ClientUsageError(`${file}: needs a JSON object with a "subject"`);
  const beside = (extension: string) => {
    const path = join(file.slice(0, file.length - extname(file).length) + extension);
    return existsSync(path) ? readFileSync(path, 'utf8') : null;
  };
  const text = beside('.txt') ?? (typeof parsed.text === 'string' ? parsed.text : null);
  const html = beside('.html') ?? (typeof parsed.html === 'string' ? parsed.html : null);
  if (text === null && html === null) throw new ClientUsageError(`${file}: needs a text or html part (in the JSON, or in ${name}.txt / ${name}.html)`);
  const defaults = parsed.defaults && typeof parsed.defaults === 'object' && !Array.isArray(parsed.defaults) ? (parsed.defaults as Record<string, unknown>) : {};
  return { name: typeof parsed.name === 'string' ? parsed.name : name, content: { subject: parsed.subject, text, html, defaults } };
}

/** Key order does not make a template different. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  return JSON.stringify(value ?? null);
}

function sameContent(a: TemplateContent, b: TemplateContent): boolean {
  return a.subject === b.subject && (a.text ?? null) === (b.text ?? null) && (a.html ?? null) === (b.html ?? null) && canonical(a.defaults ?? {}) === canonical(b.defaults ?? {});
}

function body(content: TemplateContent): Record<string, unknown> {
  const request: Record<string, unknown> = { subject: content.subject };
  if (content.text !== null) request.text = content.text;
  if (content.html !== null) request.html = content.html;
  if (Object.keys(content.defaults).length > 0) request.defaults = content.defaults;
  return request;
}

async function push(client: ApiClient, target: string, json: boolean): Promise<number> {
  if (!existsSync(target)) throw new ClientUsageError(`${target} does not exist`);
  const files = statSync(target).isDirectory() ? readdirSync(target).filter((file) => file.endsWith('.json')).sort().map((file) => join(target, file)) : [target];
  if (files.length === 0) throw new ClientUsageError(`${target} holds no NAME.json template`);
  const results: { name: string; action: 'created' | 'updated' | 'unchanged'; version: number }[] = [];
  for (const file of files) {
    const { name, content } = readTemplateFile(file);
    const existing = await client.request<{ data: StoredTemplate }>('GET', `/templates/${encodeURIComponent(name)}`, { accept: [404] });
    let result: (typeof results)[number];
    if (existing.status === 404) {
      const created = await client.request<{ data: StoredTemplate }>('POST', '/templates', { body: { name, ...body(content) } });
      result = { name, action: 'created', version: created.body.data.version };
    } else if (sameContent(existing.body.data, content)) {
      result = { name, action: 'unchanged', version: existing.body.data.version };
    } else {
      const updated = await client.request<{ data: StoredTemplate }>('PUT', `/templates/${encodeURIComponent(name)}`, { body: body(content) });
      result = { name, action: 'updated', version: updated.body.data.version };
    }
    results.push(result);
    if (!json) process.stdout.write(`${result.action}\t${name}\tversion ${result.version}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify({ templates: results })}\n`);
  return 0;
}

async function pull(client: ApiClient, dir: string, json: boolean): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { data: { name: string }[]; nextCursor: string | null } } = await client.request('GET', `/templates?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    names.push(...page.body.data.map((template) => template.name));
    cursor = page.body.nextCursor;
  } while (cursor);
  const written: { name: string; version: number }[] = [];
  for (const name of names) {
    const { body: { data } } = await client.request<{ data: StoredTemplate }>('GET', `/templates/${encodeURIComponent(name)}`);
    const base = join(dir, data.name);
    const meta: Record<string, unknown> = { subject: data.subject };
    if (Object.keys(data.defaults ?? {}).length > 0) meta.defaults = data.defaults;
    writeFileSync(`${base}.json`, `${JSON.stringify(meta, null, 2)}\n`);
    // The parts as they are, byte for byte: a push of what was pulled changes nothing.
    for (const [extension, part] of [['.txt', data.text], ['.html', data.html]] as const) {
      if (part === null) rmSync(`${base}${extension}`, { force: true });
      else writeFileSync(`${base}${extension}`, part);
    }
    written.push({ name: data.name, version: data.version });
    if (!json) process.stdout.write(`pulled\t${data.name}\tversion ${data.version}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify({ dir, templates: written })}\n`);
  return 0;
}

/** `mailroom templates push DIR|FILE` / `templates pull [DIR]`. */
export async function templatesCommand(args: string[], options: CliOptions): Promise<number> {
  const [action, target] = args;
  const client = clientFromEnv();
  if (action === 'push') {
    if (!target) throw new ClientUsageError('templates push needs a DIR or a FILE.json');
    return push(client, target, options.json === true);
  }
  if (action === 'pull') return pull(client, target ?? 'templates', options.json === true);
  throw new ClientUsageError(`${action ? `unknown action "templates ${action}"; ` : ''}usage: mailroom templates push DIR|FILE | pull [DIR]`);
}
