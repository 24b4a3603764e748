const MAX_DIAGNOSTIC = 1000;

/** Diagnostics arrive folded over several lines, with SMTP continuation prefixes; rules and callers want one line. */
export function oneLine(text: string): string {
  const flat = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > MAX_DIAGNOSTIC ? flat.slice(0, MAX_DIAGNOSTIC) : flat;
}

/** The text of a typed DSN field ("smtp; 550 ...") without its type. */
export function untyped(value: string): string {
  return value.replace(/^\s*[\w-]+\s*;\s*/, '').trim();
}
