import { readFileSync } from 'node:fs';

/**
 * SQL lives in .sql files beside the code that runs it, as named queries:
 *
 *   -- name: claimDue
 *   UPDATE queue ...
 *
 * `sqlFile(url, names)` reads the file once and checks that every name the module uses exists,
 * so a typo fails at import time rather than at the first query.
 */
export function sqlFile<const N extends string>(url: URL, names: readonly N[]): Record<N, string> {
  const text = readFileSync(url, 'utf8');
  const found = new Map<string, string>();
  const parts = text.split(/^--\s*name:\s*/m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    const name = part.slice(0, newline).trim();
    const body = part.slice(newline + 1).trim().replace(/;\s*$/, '');
    found.set(name, body);
  }
  const result = {} as Record<N, string>;
  for (const name of names) {
    const body = found.get(name);
    if (!body) throw new Error(`${url.pathname}: no query named "${name}"`);
    result[name] = body;
  }
  return result;
}
