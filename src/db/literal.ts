/**
 * A parameter value as an SQL string literal, for EXECUTE of a prepared statement on PGlite
 * (see pglite.ts): the value in the text form the pg driver would send for it (dates as ISO
 * 8601, arrays as array literals, objects as JSON), quoted with every ' doubled. Under
 * standard_conforming_strings (checked at open) a backslash has no meaning inside '...', so
 * doubling quotes is the whole of the escaping. The untyped literal takes the type of the
 * statement's parameter, as a parameter sent over the wire does.
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return quote(textOf(value));
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot pass ${value} to the database`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayLiteral(value);
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  return JSON.stringify(value);
}

/** PostgreSQL's array input syntax: every element double-quoted, " and \ escaped with \. */
function arrayLiteral(items: readonly unknown[]): string {
  const elements = items.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    if (Array.isArray(item)) return arrayLiteral(item);
    return `"${textOf(item).replace(/[\\"]/g, (character) => `\\${character}`)}"`;
  });
  return `{${elements.join(',')}}`;
}

function quote(text: string): string {
  // A NUL would end the query text early; PostgreSQL text cannot hold one anyway.
  if (text.includes('\0')) throw new Error('a NUL character cannot be passed to the database');
  return `'${text.replace(/'/g, "''")}'`;
}
