import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The HIPAA listener's error answers never repeat what was sent (docs/HIPAA.md). Errors are
 * written to help, and many quote the value they refuse ("the recipient x is a role address",
 * "no message y"); on this listener every value of the request (body, query, path) found in an
 * error's JSON is replaced, whichever part of Mailroom wrote the error. Values shorter than
 * MIN_CHARS are left: they cannot carry an identifier, and replacing them would garble words.
 */
const MIN_CHARS = 4;
/** A body of thousands of values is scanned for the first ones only: an error quotes few. */
const MAX_VALUES = 2_000;
const WITHHELD = '[withheld]';

export async function withholdEchoes(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (typeof payload !== 'string') return payload;
  if (reply.statusCode < 400) return payload.includes('"error"') ? withholdInResults(request, payload) : payload;
  return scrub(payload, requestValues(request));
}

/** A bulk answer (200, its results in `data`) carries an error per refused message: those are errors too. */
function withholdInResults(request: FastifyRequest, payload: string): string {
  let body: { data?: unknown };
  try {
    body = JSON.parse(payload) as typeof body;
  } catch {
    return payload;
  }
  if (!Array.isArray(body.data)) return payload;
  const values = requestValues(request);
  body.data = (body.data as { error?: unknown }[]).map((result) => (result?.error === undefined ? result : { ...result, error: JSON.parse(scrub(JSON.stringify(result.error), values)) as unknown }));
  return JSON.stringify(body);
}

function requestValues(request: FastifyRequest): Set<string> {
  const values = new Set<string>();
  collect(request.body, values);
  collect(request.query, values);
  collect(request.params, values);
  // A request no route matched is answered with its path: every segment of it may be quoted.
  // A routed one quotes only its parameters (the route's own words, "sandbox", stay).
  if (request.routeOptions.url !== undefined) return values;
  for (const segment of request.url.split('?')[0]!.split('/')) {
    try {
      collect(decodeURIComponent(segment), values);
    } catch {
      collect(segment, values);
    }
  }
  return values;
}

function scrub(payload: string, values: Set<string>): string {
  let scrubbed = payload;
  // Longest first, so that a value containing another is replaced whole.
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    // As it is spelled inside a JSON string: never matches across the JSON's own quotes.
    const spelling = JSON.stringify(value).slice(1, -1);
    if (scrubbed.includes(spelling)) scrubbed = scrubbed.split(spelling).join(WITHHELD);
  }
  return scrubbed;
}

function collect(value: unknown, into: Set<string>): void {
  if (into.size >= MAX_VALUES) return;
  if (typeof value === 'string') {
    if (value.length >= MIN_CHARS) into.add(value);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const item of Array.isArray(value) ? value : Object.values(value as Record<string, unknown>)) collect(item, into);
}
