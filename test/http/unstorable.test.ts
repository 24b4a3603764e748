import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The requests an outside review found answered 500: a NUL in a path id, a query filter or a
 * body string, and integers beyond PostgreSQL's integer. Each must be a 400 in SPEC section 11's
 * shape, and nothing may be stored for it. The class is closed by the schema layer
 * (src/http/validation.ts) and the pipeline's early shape check; test/http/fuzz.test.ts walks
 * every operation with such values.
 */
let app: TestApp;
let templateId: string;

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' });
  const created = await app.api('/templates', { method: 'POST', json: { name: 'welcome', subject: 'Hi {{name}}', text: 'Hello {{name}}' } });
  assert.equal(created.status, 201);
  templateId = ((await created.json()) as { data: { id: string } }).data.id;
});
after(() => app.stop());

interface ErrorBody {
  meta: { timestamp: number; transactionId: string };
  error: { code: string; message: string; details: { field: string; message: string }[] };
}

async function storedCounts(): Promise<Record<string, number>> {
  const [row] = await app.mailroom.db.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM templates) AS templates,
            (SELECT count(*) FROM template_versions) AS versions, (SELECT count(*) FROM suppressions) AS suppressions`,
  );
  return row!;
}

async function refused(method: string, path: string, json?: unknown): Promise<ErrorBody> {
  const before = await storedCounts();
  const response = await app.api(path, { method, ...(json === undefined ? {} : { json }) });
  const text = await response.text();
  assert.equal(response.status, 400, `${method} ${path}: ${response.status} ${text}`);
  const body = JSON.parse(text) as ErrorBody;
  assert.equal(body.error.code, 'VALIDATION_ERROR', text);
  assert.ok(body.meta.transactionId);
  assert.doesNotMatch(text, /at \w+ \(|node_modules|SQLSTATE|unsupported Unicode/);
  assert.deepEqual(await storedCounts(), before, `${method} ${path} stored something`);
  return body;
}

const NUL_SPELLINGS = ['%00', '%00abc', 'abc%00'];

test('a NUL in a path id is a 400 on every verb and sub-route', async () => {
  for (const nul of NUL_SPELLINGS) {
    for (const [method, path] of [
      ['GET', `/emails/${nul}`], ['GET', `/emails/${nul}/events`], ['GET', `/emails/${nul}/callbacks`],
      ['POST', `/emails/${nul}/retry`], ['POST', `/emails/${nul}/cancel`],
      ['GET', `/templates/${nul}`], ['DELETE', `/templates/${nul}`], ['GET', `/templates/${nul}/versions`],
      ['GET', `/templates/${nul}/versions/1`], ['POST', `/templates/${nul}/preview`],
      ['GET', `/suppressions/a${nul}@example.com`], ['DELETE', `/suppressions/a${nul}@example.com`],
    ] as const) {
      await refused(method, path);
    }
    await refused('PUT', `/templates/${nul}`, { subject: 'Hi', text: 'Hello' });
  }
});

test('a NUL or an unpaired surrogate in a query filter is a 400', async () => {
  for (const field of ['externalId', 'to', 'from', 'clientId', 'campaignId', 'cursor']) {
    const body = await refused('GET', `/emails?${field}=a%00b`);
    assert.equal(body.error.details[0]?.field, field);
    // UTF-8 of a surrogate (invalid UTF-8) and a bare continuation byte: whatever the query
    // parser makes of them, never a 500.
    for (const bytes of ['%ED%A0%80', '%80', '%C0%80']) {
      const response = await app.api(`/emails?${field}=a${bytes}b`);
      assert.ok(response.status === 200 || response.status === 400, `${field}=${bytes}: ${response.status}`);
    }
  }
  await refused('GET', '/suppressions?cursor=%00');
  await refused('GET', '/templates?cursor=%00');
});

test('a NUL in a body string is a 400, nothing stored', async () => {
  await refused('POST', '/templates', { name: 'other', subject: 'Hi', text: 'Hello', defaults: { name: 'a\u0000b' } });
  await refused('POST', '/templates', { name: 'other', subject: 'Hi', text: 'Hello', defaults: { 'na\u0000me': 'x' } });
  await refused('POST', '/queue/retry', { domain: 'example\u0000.com' });
  await refused('POST', '/queue/retry', { destination: '\u0000' });
  await refused('POST', '/suppressions', { address: 'a\u0000@example.com' });
  await refused('POST', '/emails', { to: 'a@example.com', from: 'b@example.com', templateId: 'wel\u0000come' });
  await refused('POST', '/emails', { to: 'a@example.com', from: 'b@example.com', subject: 'x', text: 'y\uDC00' });
});

test('integers beyond their column: 400, and in a bulk the valid messages are still stored', async () => {
  for (const version of ['2147483648', '9007199254740993', '1e308', '-1', '0.5']) {
    const raw = `{"to":"a@example.com","from":"b@example.com","templateId":"${templateId}","placeholders":{"name":"x"},"templateVersion":${version}}`;
    const before = await storedCounts();
    const response = await app.api('/emails', { method: 'POST', body: raw, headers: { 'content-type': 'application/json' } });
    const text = await response.text();
    assert.equal(response.status, 400, `templateVersion ${version}: ${text}`);
    assert.equal((JSON.parse(text) as ErrorBody).error.details[0]?.field, 'templateVersion');
    assert.deepEqual(await storedCounts(), before);

    const bulk = `{"messages":[{"to":"ok1@example.com","from":"b@example.com","subject":"s","text":"t"},${raw},{"to":"ok2@example.com","from":"b@example.com","subject":"s","text":"t"}]}`;
    const bulkResponse = await app.api('/emails/bulk', { method: 'POST', body: bulk, headers: { 'content-type': 'application/json' } });
    assert.equal(bulkResponse.status, 200, await bulkResponse.clone().text());
    const results = ((await bulkResponse.json()) as { data: ({ data: { id: string } } | { error: { code: string } })[] }).data;
    assert.ok('data' in results[0]! && 'data' in results[2]!);
    assert.equal('error' in results[1]! && results[1].error.code, 'VALIDATION_ERROR');
    assert.equal((await storedCounts()).messages, Number(before.messages) + 2);
  }
  for (const path of ['/sandbox/messages/1e30', '/sandbox/messages/2147483648000000000000', '/senders/1e30', '/sandbox/messages?cursor=1e30', '/templates/welcome/versions/2147483648', '/emails?limit=1e30']) {
    await refused('GET', path);
  }
  await refused('POST', '/senders/1e30/resend');
  await refused('DELETE', '/senders/1e30');
  await refused('POST', `/templates/${templateId}/preview`, { version: 1e30 });
});

test('GET /events/stream?after=1e30 is a 400 before the stream starts', async () => {
  await refused('GET', '/events/stream?after=1e30');
  await refused('GET', '/events/stream?after=9007199254740993');
});
