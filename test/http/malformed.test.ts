import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Malformed sends, as a table: every row is refused with SPEC section 11 JSON, the fitting
 * status and code, no internal detail, and nothing is stored by any of them. Positive controls
 * at the end show that the same requests, corrected, are accepted and do store a message.
 */
interface Row {
  name: string;
  path?: '/emails' | '/emails/bulk';
  /** Sent as JSON.stringify(json); exclusive with raw. */
  json?: unknown;
  /** Sent as it stands. */
  raw?: string;
  /** Defaults to application/json; null sends no Content-Type. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Query string including "?". */
  query?: string;
  status: number;
  code: string;
  /** For VALIDATION_ERROR: the field(s) that error.details must name. */
  field?: string | string[];
}

interface ErrorBody {
  meta: { timestamp: number; transactionId: string };
  error: { code: string; message: string; details: { field: string; message: string }[] };
}

const valid = { to: 'john.doe@example.com', from: 'promo@elipackage.com', text: 'we have a new offer', subject: 'Offer' };
const without = (field: keyof typeof valid) => Object.fromEntries(Object.entries(valid).filter(([key]) => key !== field));
const withField = (extra: Record<string, unknown>) => ({ ...valid, ...extra });
const attachment = (extra: Record<string, unknown>) => withField({ attachments: [{ filename: 'offer.pdf', content: 'JVBERi0xLjQK', ...extra }] });
const daysAhead = (days: number) => new Date(Date.now() + days * 24 * 3600 * 1000).toISOString();

const MB = 1024 * 1024;

const ROWS: Row[] = [
  // The body itself
  { name: 'invalid JSON', raw: '{"to": "john.doe@example.com",', status: 400, code: 'INVALID_JSON' },
  { name: 'invalid JSON: single quotes', raw: "{'to': 'john.doe@example.com'}", status: 400, code: 'INVALID_JSON' },
  // An empty JSON body is no body (issue 19: bodiless actions take one): for a send, the missing fields are named.
  { name: 'empty body', raw: '', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'body is a JSON array', json: [valid], status: 400, code: 'VALIDATION_ERROR', field: '' },
  { name: 'body is a JSON string', json: 'john.doe@example.com', status: 400, code: 'VALIDATION_ERROR', field: '' },
  { name: 'body is a JSON number', raw: '42', status: 400, code: 'VALIDATION_ERROR', field: '' },
  { name: 'body is JSON null', raw: 'null', status: 400, code: 'VALIDATION_ERROR', field: '' },
  { name: 'body with __proto__ (prototype poisoning)', raw: `{"__proto__": {"admin": true}, "to": "${valid.to}"}`, status: 400, code: 'INVALID_JSON' },

  // Content type
  { name: 'Content-Type text/plain', raw: JSON.stringify(valid), contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'Content-Type application/x-www-form-urlencoded', raw: 'to=john.doe%40example.com&subject=Offer', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  {
    name: 'Content-Type multipart/form-data',
    raw: '--b\r\nContent-Disposition: form-data; name="to"\r\n\r\njohn.doe@example.com\r\n--b--\r\n',
    contentType: 'multipart/form-data; boundary=b',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'no Content-Type at all', raw: JSON.stringify(valid), contentType: null, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },

  // Required fields
  { name: 'missing to', json: without('to'), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'missing from', json: without('from'), status: 400, code: 'VALIDATION_ERROR', field: 'from' },
  { name: 'missing text', json: without('text'), status: 400, code: 'VALIDATION_ERROR', field: 'text' },
  { name: 'missing subject', json: without('subject'), status: 400, code: 'VALIDATION_ERROR', field: 'subject' },
  { name: 'empty object: every required field named', json: {}, status: 400, code: 'VALIDATION_ERROR', field: ['to', 'from', 'text', 'subject'] },

  // Wrong types
  { name: 'to is a number', json: withField({ to: 12345 }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  // An array of addresses is taken (one message each: test/sending/sendToMany.test.ts); an empty one or one of objects is not.
  { name: 'to is an empty array', json: withField({ to: [] }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to is an array of objects', json: withField({ to: [{ address: valid.to }] }), status: 400, code: 'VALIDATION_ERROR', field: 'to[0]' },
  { name: 'from is an object', json: withField({ from: { address: valid.from } }), status: 400, code: 'VALIDATION_ERROR', field: 'from' },
  { name: 'text is a boolean', json: withField({ text: true }), status: 400, code: 'VALIDATION_ERROR', field: 'text' },
  { name: 'subject is null', json: withField({ subject: null }), status: 400, code: 'VALIDATION_ERROR', field: 'subject' },
  { name: 'externalId is a number', json: withField({ externalId: 123456789 }), status: 400, code: 'VALIDATION_ERROR', field: 'externalId' },
  { name: 'clientId is a boolean', json: withField({ clientId: false }), status: 400, code: 'VALIDATION_ERROR', field: 'clientId' },
  { name: 'alias is an object', json: withField({ alias: {} }), status: 400, code: 'VALIDATION_ERROR', field: 'alias' },
  { name: 'callbacks is a string', json: withField({ callbacks: 'https://hooks.example.com/x' }), status: 400, code: 'VALIDATION_ERROR', field: 'callbacks' },
  { name: 'callbacks holds a number', json: withField({ callbacks: [42] }), status: 400, code: 'VALIDATION_ERROR', field: 'callbacks[0]' },
  { name: 'html is a number', json: withField({ html: 5 }), status: 400, code: 'VALIDATION_ERROR', field: 'html' },
  { name: 'cc is a string', json: withField({ cc: 'cc@example.com' }), status: 400, code: 'VALIDATION_ERROR', field: 'cc' },
  { name: 'bcc holds an object', json: withField({ bcc: [{ address: 'bcc@example.com' }] }), status: 400, code: 'VALIDATION_ERROR', field: 'bcc[0]' },
  { name: 'replyTo is an array', json: withField({ replyTo: ['r@example.com'] }), status: 400, code: 'VALIDATION_ERROR', field: 'replyTo' },
  { name: 'headers is an array', json: withField({ headers: ['X-A: 1'] }), status: 400, code: 'VALIDATION_ERROR', field: 'headers' },
  { name: 'header value is a number', json: withField({ headers: { 'X-Campaign': 7 } }), status: 400, code: 'VALIDATION_ERROR', field: 'headers.X-Campaign' },
  { name: 'attachments is an object', json: withField({ attachments: { filename: 'a.pdf' } }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments' },
  { name: 'attachment is a string', json: withField({ attachments: ['JVBERi0xLjQK'] }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments[0]' },
  { name: 'campaignId is an array', json: withField({ campaignId: ['spring'] }), status: 400, code: 'VALIDATION_ERROR', field: 'campaignId' },
  { name: 'tags is a string', json: withField({ tags: 'promo' }), status: 400, code: 'VALIDATION_ERROR', field: 'tags' },
  { name: 'sendAt is a number (epoch ms)', json: withField({ sendAt: Date.now() + 3600_000 }), status: 400, code: 'VALIDATION_ERROR', field: 'sendAt' },
  { name: 'trackOpens is the string "true"', json: withField({ trackOpens: 'true' }), status: 400, code: 'VALIDATION_ERROR', field: 'trackOpens' },
  { name: 'trackClicks is 1', json: withField({ trackClicks: 1 }), status: 400, code: 'VALIDATION_ERROR', field: 'trackClicks' },
  { name: 'type not in the enum', json: withField({ type: 'promotional' }), status: 400, code: 'VALIDATION_ERROR', field: 'type' },
  { name: 'unknown field', json: withField({ priority: 'high' }), status: 400, code: 'VALIDATION_ERROR', field: 'priority' },
  { name: 'unknown field in an attachment', json: attachment({ size: 9 }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments[0].size' },

  // Values
  { name: 'text is an empty string', json: withField({ text: '' }), status: 400, code: 'VALIDATION_ERROR', field: 'text' },
  { name: 'subject longer than 998 characters', json: withField({ subject: 'x'.repeat(999) }), status: 400, code: 'VALIDATION_ERROR', field: 'subject' },
  { name: 'text with a NUL character', json: withField({ text: 'offer\u0000here' }), status: 400, code: 'VALIDATION_ERROR', field: 'text' },
  { name: 'subject with a lone UTF-16 surrogate', raw: JSON.stringify(valid).replace('"Offer"', '"Off\\ud800er"'), status: 400, code: 'VALIDATION_ERROR', field: 'subject' },

  // Addresses
  { name: 'to without @', json: withField({ to: 'john.doe.example.com' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to with two @', json: withField({ to: 'john@doe@example.com' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to with a space in the local part', json: withField({ to: 'john doe@example.com' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to with nothing after @', json: withField({ to: 'john.doe@' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to with a domain without a dot', json: withField({ to: 'john.doe@localhost' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to with a numeric TLD', json: withField({ to: 'john.doe@example.123' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to with a local part of 65 octets', json: withField({ to: `${'j'.repeat(65)}@example.com` }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to with two named addresses', json: withField({ to: 'John <john@example.com>, Jane <jane@example.com>' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to: a display name with two angle addresses', json: withField({ to: 'John <john@example.com> <jane@example.com>' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'to in group syntax', json: withField({ to: 'Friends: john@example.com, jane@example.com;' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'from without a domain', json: withField({ from: 'Promo <promo@>' }), status: 400, code: 'VALIDATION_ERROR', field: 'from' },
  { name: 'cc entry not an address', json: withField({ cc: ['cc@example.com', 'not-an-address'] }), status: 400, code: 'VALIDATION_ERROR', field: 'cc[1]' },

  // Header injection
  { name: 'CRLF in subject', json: withField({ subject: 'Offer\r\nBcc: victim@example.net' }), status: 400, code: 'VALIDATION_ERROR', field: 'subject' },
  { name: 'bare LF in subject', json: withField({ subject: 'Offer\nBcc: victim@example.net' }), status: 400, code: 'VALIDATION_ERROR', field: 'subject' },
  { name: 'CRLF in alias', json: withField({ alias: 'New User\r\nX-Injected: 1' }), status: 400, code: 'VALIDATION_ERROR', field: 'alias' },
  { name: 'CRLF in clientId', json: withField({ clientId: '48118112\r\nX-Injected: 1' }), status: 400, code: 'VALIDATION_ERROR', field: 'clientId' },
  { name: 'CRLF in the from display name', json: withField({ from: 'Promo\r\nBcc: victim@example.net <promo@elipackage.com>' }), status: 400, code: 'VALIDATION_ERROR', field: 'from' },
  { name: 'CRLF in to', json: withField({ to: 'john.doe@example.com\r\nBcc: victim@example.net' }), status: 400, code: 'VALIDATION_ERROR', field: 'to' },
  { name: 'CRLF in replyTo', json: withField({ replyTo: 'r@example.com\r\nBcc: victim@example.net' }), status: 400, code: 'VALIDATION_ERROR', field: 'replyTo' },
  { name: 'CRLF in a custom header value', json: withField({ headers: { 'X-Campaign': 'spring\r\nBcc: victim@example.net' } }), status: 400, code: 'VALIDATION_ERROR', field: 'headers.X-Campaign' },
  { name: 'CRLF in an attachment filename', json: attachment({ filename: 'offer.pdf\r\nContent-Type: text/html' }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments[0].filename' },
  { name: 'reserved custom header From', json: withField({ headers: { From: 'ceo@elipackage.com' } }), status: 400, code: 'VALIDATION_ERROR', field: 'headers.From' },
  { name: 'reserved custom header DKIM-Signature', json: withField({ headers: { 'DKIM-Signature': 'v=1; a=rsa-sha256' } }), status: 400, code: 'VALIDATION_ERROR', field: 'headers.DKIM-Signature' },
  { name: 'reserved custom header bcc (lower case)', json: withField({ headers: { bcc: 'victim@example.net' } }), status: 400, code: 'VALIDATION_ERROR', field: 'headers.bcc' },
  { name: 'invalid header name (space)', json: withField({ headers: { 'X Campaign': 'spring' } }), status: 400, code: 'VALIDATION_ERROR', field: 'headers.X Campaign' },
  { name: 'invalid header name (colon)', json: withField({ headers: { 'X-A:B': 'spring' } }), status: 400, code: 'VALIDATION_ERROR', field: 'headers.X-A:B' },

  // Identifiers, lists, limits
  { name: 'externalId with spaces', json: withField({ externalId: 'spring sale' }), status: 400, code: 'VALIDATION_ERROR', field: 'externalId' },
  { name: 'tag with invalid characters', json: withField({ tags: ['ok', 'not ok!'] }), status: 400, code: 'VALIDATION_ERROR', field: 'tags[1]' },
  { name: '51 cc addresses', json: withField({ cc: Array.from({ length: 51 }, (_, i) => `cc${i}@example.com`) }), status: 400, code: 'VALIDATION_ERROR', field: 'cc' },
  { name: '51 bcc addresses', json: withField({ bcc: Array.from({ length: 51 }, (_, i) => `bcc${i}@example.com`) }), status: 400, code: 'VALIDATION_ERROR', field: 'bcc' },
  { name: '21 tags', json: withField({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), status: 400, code: 'VALIDATION_ERROR', field: 'tags' },
  { name: '11 callbacks', json: withField({ callbacks: Array.from({ length: 11 }, (_, i) => `https://hooks.example.com/${i}`) }), status: 400, code: 'VALIDATION_ERROR', field: 'callbacks' },

  // sendAt
  { name: 'sendAt not ISO 8601', json: withField({ sendAt: 'tomorrow at noon' }), status: 400, code: 'VALIDATION_ERROR', field: 'sendAt' },
  { name: 'sendAt without a time zone', json: withField({ sendAt: daysAhead(1).replace('Z', '') }), status: 400, code: 'VALIDATION_ERROR', field: 'sendAt' },
  { name: 'sendAt more than 30 days ahead', json: withField({ sendAt: daysAhead(31) }), status: 400, code: 'VALIDATION_ERROR', field: 'sendAt' },
  { name: 'sendAt on a day the calendar does not have', json: withField({ sendAt: '2025-02-30T10:00:00Z' }), status: 400, code: 'VALIDATION_ERROR', field: 'sendAt' },

  // Attachments and size
  { name: 'attachment content not base64', json: attachment({ content: 'this is not base64!' }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments[0].content' },
  { name: 'attachment content of a bad length', json: attachment({ content: 'JVBERi0xLjQ' }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments[0].content' },
  { name: 'attachment without a filename', json: withField({ attachments: [{ content: 'JVBERi0xLjQK' }] }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments[0].filename' },
  { name: 'attachment with a bad contentType', json: attachment({ contentType: 'pdf' }), status: 400, code: 'VALIDATION_ERROR', field: 'attachments[0].contentType' },
  {
    name: 'decoded attachments over 10 MB',
    json: attachment({ content: Buffer.alloc(10 * MB + 1, 0x25).toString('base64') }),
    status: 413,
    code: 'MESSAGE_TOO_LARGE',
  },
  { name: 'JSON body over the 16 MB body limit', json: withField({ text: 'x'.repeat(17 * MB) }), status: 413, code: 'PAYLOAD_TOO_LARGE' },

  // Query and headers
  { name: 'unsubscribeMsg containing "<"', json: valid, query: '?unsubscribeMsg=%3Cb%3EUnsubscribe', status: 400, code: 'VALIDATION_ERROR', field: 'unsubscribeMsg' },
  { name: 'unsubscribeMsg longer than 200', json: valid, query: `?unsubscribeMsg=${'u'.repeat(201)}`, status: 400, code: 'VALIDATION_ERROR', field: 'unsubscribeMsg' },
  { name: 'Idempotency-Key longer than 255', json: valid, headers: { 'idempotency-key': 'k'.repeat(256) }, status: 400, code: 'VALIDATION_ERROR', field: 'Idempotency-Key' },
  { name: 'Idempotency-Key with a space', json: valid, headers: { 'idempotency-key': 'order 42' }, status: 400, code: 'VALIDATION_ERROR', field: 'Idempotency-Key' },
  { name: 'invalid body with an Idempotency-Key', json: without('to'), headers: { 'idempotency-key': 'malformed-with-key' }, status: 400, code: 'VALIDATION_ERROR', field: 'to' },

  // Bulk
  { name: 'bulk: messages is not an array', path: '/emails/bulk', json: { messages: valid }, status: 400, code: 'VALIDATION_ERROR', field: 'messages' },
  { name: 'bulk: messages is empty', path: '/emails/bulk', json: { messages: [] }, status: 400, code: 'VALIDATION_ERROR', field: 'messages' },
  { name: 'bulk: 1001 messages', path: '/emails/bulk', json: { messages: Array.from({ length: 1001 }, () => valid) }, status: 400, code: 'VALIDATION_ERROR', field: 'messages' },
  { name: 'bulk: extra top-level key', path: '/emails/bulk', json: { messages: [valid], dryRun: true }, status: 400, code: 'VALIDATION_ERROR', field: '' },
  { name: 'bulk: body is an array', path: '/emails/bulk', json: [valid], status: 400, code: 'VALIDATION_ERROR', field: '' },
  { name: 'bulk: messages missing', path: '/emails/bulk', json: {}, status: 400, code: 'VALIDATION_ERROR', field: 'messages' },
  { name: 'bulk: invalid JSON', path: '/emails/bulk', raw: '{"messages": [', status: 400, code: 'INVALID_JSON' },
  { name: 'bulk: Content-Type text/plain', path: '/emails/bulk', raw: JSON.stringify({ messages: [valid] }), contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'bulk: unsubscribeMsg containing "<"', path: '/emails/bulk', json: { messages: [valid] }, query: '?unsubscribeMsg=%3C', status: 400, code: 'VALIDATION_ERROR', field: 'unsubscribeMsg' },
];

let app: TestApp;
const TABLES = ['messages', 'message_events', 'queue', 'idempotency_keys', 'sandbox_messages'] as const;
type Counts = Record<(typeof TABLES)[number], number>;
let before_: { counts: Counts; listed: string[] };

// One statement, so that every count comes from the same snapshot: counted table by table, the
// worker could move a message from the queue to the sandbox between two counts.
async function counts(): Promise<Counts> {
  const columns = TABLES.map((table) => `(SELECT count(*) FROM ${table}) AS ${table}`).join(', ');
  const [row] = await app.mailroom.db.query<Record<string, number | string>>(`SELECT ${columns}`);
  const result = {} as Counts;
  for (const table of TABLES) result[table] = Number(row![table]);
  return result;
}

async function listedIds(): Promise<string[]> {
  const response = await app.api('/emails?limit=100');
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: { id: string }[] }).data.map((item) => item.id);
}

function send(row: Row): Promise<Response> {
  const headers = new Headers(row.headers);
  headers.set('authorization', `Bearer ${app.key}`);
  const contentType = row.contentType === undefined ? 'application/json' : row.contentType;
  if (contentType !== null) headers.set('content-type', contentType);
  const body = row.raw !== undefined ? row.raw : JSON.stringify(row.json);
  return fetch(`${app.url}${row.path ?? '/emails'}${row.query ?? ''}`, { method: 'POST', headers, body });
}

/** Nothing internal leaks: no stack, no source positions, no SQL or driver wording. */
function assertNoLeak(text: string): void {
  assert.doesNotMatch(text, /"stack"/);
  assert.doesNotMatch(text, /\\n\s+at \S/, 'a stack frame');
  assert.doesNotMatch(text, /\bat (?:async )?\S+ \((?:file:|node:|\/)/, 'a stack frame');
  assert.doesNotMatch(text, /\.(?:ts|js|mjs|cjs):\d+/, 'a source position');
  assert.doesNotMatch(text, /node_modules|node:internal/);
  assert.doesNotMatch(text, /\b(?:SELECT\s.+\sFROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM|ON CONFLICT|jsonb_to_recordset|pg_notify)\b/i, 'SQL');
  assert.doesNotMatch(text, /syntax error at or near|violates .* constraint|duplicate key value|relation "|invalid input syntax|unsupported Unicode escape/i, 'a database error');
}

before(async () => {
  app = await startTestApp();
  before_ = { counts: await counts(), listed: await listedIds() };
});
after(() => app.stop());

test('the table covers at least 45 malformed requests, each with a unique name', () => {
  assert.ok(ROWS.length >= 45, `${ROWS.length} rows`);
  assert.equal(new Set(ROWS.map((row) => row.name)).size, ROWS.length);
  for (const row of ROWS) assert.ok((row.json === undefined) !== (row.raw === undefined), `${row.name}: exactly one of json and raw`);
});

for (const row of ROWS) {
  test(`refused: ${row.name} -> ${row.status} ${row.code}`, async () => {
    const response = await send(row);
    const text = await response.text();
    assert.equal(response.status, row.status, text.slice(0, 500));
    assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
    assertNoLeak(text);

    const body = JSON.parse(text) as ErrorBody;
    assert.equal(typeof body.meta.timestamp, 'number');
    assert.ok(Math.abs(body.meta.timestamp - Date.now()) < 60_000, 'meta.timestamp is now');
    assert.equal(typeof body.meta.transactionId, 'string');
    assert.ok(body.meta.transactionId.length > 0);
    assert.equal(body.error.code, row.code);
    assert.equal(typeof body.error.message, 'string');
    assert.ok(body.error.message.length > 0);
    assert.ok(Array.isArray(body.error.details), 'error.details is an array');
    for (const detail of body.error.details) {
      assert.equal(typeof detail.field, 'string');
      assert.equal(typeof detail.message, 'string');
    }
    assert.equal('data' in body, false);
    if (row.field !== undefined) {
      const fields = body.error.details.map((detail) => detail.field);
      for (const field of [row.field].flat()) assert.ok(fields.includes(field), `details name "${field}"; they name ${JSON.stringify(fields)}`);
    }
  });
}

test('no refused request stored anything: messages, events, queue, idempotency keys, sandbox, GET /emails', async () => {
  assert.deepEqual(await counts(), before_.counts);
  assert.deepEqual(before_.counts, { messages: 0, message_events: 0, queue: 0, idempotency_keys: 0, sandbox_messages: 0 });
  assert.deepEqual(await listedIds(), before_.listed);
});

// Positive controls: the requests the table corrupts, sent whole, are accepted and do store.
test('control: the minimal valid request is accepted and stored', async () => {
  const start = await counts();
  const listed = await listedIds();
  const response = await send({ name: 'control', json: valid, status: 200, code: '' });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { data: { id: string; status: string; to: string } };
  assert.equal(body.data.status, 'QUEUED');
  assert.equal(body.data.to, valid.to);
  const now = await counts();
  assert.equal(now.messages, start.messages + 1);
  assert.equal(now.queue + now.sandbox_messages, start.queue + start.sandbox_messages + 1, 'queued, or already delivered to the sandbox');
  assert.deepEqual(await listedIds(), [body.data.id, ...listed]);
});

test('control: every optional field at its limit is accepted', async () => {
  const start = await counts();
  const request = {
    ...valid,
    to: `"Doe, John" <${'j'.repeat(64)}@example.com>`,
    from: 'EliPackage <promo@elipackage.com>',
    subject: 's'.repeat(998),
    externalId: 'spring.sale:2025_a-1',
    clientId: '48118112',
    alias: 'New User',
    callbacks: Array.from({ length: 10 }, (_, i) => `https://hooks.example.com/${i}`),
    html: '<p>we have a new offer</p>',
    cc: Array.from({ length: 50 }, (_, i) => `cc${i}@example.com`),
    bcc: ['audit@example.com'],
    replyTo: 'replies@elipackage.com',
    headers: { 'X-Campaign': 'spring', 'List-Id': '<offers.elipackage.com>' },
    attachments: [{ filename: 'offer.pdf', content: Buffer.from('%PDF-1.4\n').toString('base64'), contentType: 'application/pdf' }],
    campaignId: 'spring-2025',
    tags: Array.from({ length: 20 }, (_, i) => `tag.${i}`),
    sendAt: daysAhead(29),
    trackOpens: true,
    trackClicks: false,
    type: 'marketing',
  };
  const response = await send({
    name: 'control',
    json: request,
    query: `?unsubscribeMsg=${'u'.repeat(200)}`,
    headers: { 'idempotency-key': 'k'.repeat(255) },
    status: 200,
    code: '',
  });
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { data: { status: string; externalId: string } };
  assert.equal(body.data.status, 'SCHEDULED');
  assert.equal(body.data.externalId, request.externalId);
  const now = await counts();
  assert.equal(now.messages, start.messages + 1);
  assert.equal(now.idempotency_keys, start.idempotency_keys + 1);
});

test('control: bulk answers per message; a bad message fails alone', async () => {
  const start = await counts();
  const response = await send({
    name: 'control',
    path: '/emails/bulk',
    json: { messages: [valid, withField({ to: 'john.doe.example.com' })] },
    status: 200,
    code: '',
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { data: ({ data: { id: string } } | ErrorBody)[] };
  assert.equal(body.data.length, 2);
  assert.ok('data' in body.data[0]!);
  const failed = body.data[1] as ErrorBody;
  assert.equal(failed.error.code, 'VALIDATION_ERROR');
  assert.deepEqual(failed.error.details.map((detail) => detail.field), ['to']);
  assert.equal((await counts()).messages, start.messages + 1);
});

test('bulk: a message the database cannot hold (NUL in text) fails alone; the others are stored', async () => {
  const start = (await counts()).messages;
  const response = await send({
    name: 'bulk with NUL',
    path: '/emails/bulk',
    json: { messages: [withField({ externalId: 'nul-1' }), withField({ externalId: 'nul-2', text: 'a\u0000b' }), withField({ externalId: 'nul-3' })] },
    status: 200,
    code: '',
  });
  const text = await response.text();
  assertNoLeak(text);
  assert.equal(response.status, 200, text.slice(0, 500));
  const body = JSON.parse(text) as { data: ({ data: { id: string; externalId: string } } | ErrorBody)[] };
  assert.equal(body.data.length, 3);
  const [first, second, third] = body.data;
  assert.ok(first && 'data' in first && first.data.externalId === 'nul-1');
  assert.ok(second && 'error' in second);
  assert.equal(second.error.code, 'VALIDATION_ERROR');
  assert.ok(second.error.details.some((detail) => detail.field === 'text'));
  assert.ok(third && 'data' in third && third.data.externalId === 'nul-3');
  assert.equal((await counts()).messages, start + 2);
});
