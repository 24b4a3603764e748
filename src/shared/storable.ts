/**
 * What the database and the wire can carry. PostgreSQL's text and jsonb refuse NUL (text: "invalid
 * byte sequence", jsonb: "unsupported Unicode escape sequence"), and a UTF-16 surrogate without its
 * pair is not Unicode, so it has no UTF-8 form. Every string from outside is checked against this
 * before it reaches SQL; integers are bounded by the type of the column they are compared with.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSTORABLE_TEXT = 'must not contain a NUL character or an unpaired UTF-16 surrogate';

export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** PostgreSQL integer (int4), the type of counters, versions and limits. */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;
/** bigint ids, as far as a JavaScript number holds them exactly. */
export const ID_MAX = Number.MAX_SAFE_INTEGER;

// eslint-disable-next-line no-control-regex -- NUL is exactly what this replaces
const UNSTORABLE_ALL = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text from the outside world that Mailroom keeps as a record rather than refuses: a receiving
 * server's reply, a bounce report's diagnostic. One NUL in one of them must not fail the
 * statement that records a whole batch of results (every other message in it would be sent
 * again), so each NUL and unpaired surrogate becomes U+FFFD, keys included.
 */
export function storableCopy<T>(value: T): T {
  if (typeof value === 'string') return (isStorableText(value) ? value : value.replace(UNSTORABLE_ALL, '\uFFFD')) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => storableCopy(item)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableCopy(key), storableCopy(item)])) as T;
  }
  return value;
}
