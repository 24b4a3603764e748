import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { renderApiReference, typeOf, type OpenApiDocument } from '../../src/http/apiReference.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** docs/API.md is written from the OpenAPI document (scripts/api-reference.ts) and kept current. */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

test('docs/API.md is the reference the current OpenAPI document gives (npm run docs:api rewrites it)', async () => {
  const doc = (await (await app.api('/openapi.json', { key: null })).json()) as OpenApiDocument;
  const written = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');
  const current = renderApiReference(doc);
  assert.ok(written === current, 'docs/API.md is not current: run npm run docs:api');
  for (const operation of ['`POST /emails`', '`POST /emails/bulk`', '`GET /emails/{id}/events`', '`GET /openapi.json`']) {
    assert.ok(written.includes(operation), `${operation} in docs/API.md`);
  }
});

test('types read as a reader expects them', () => {
  assert.equal(typeOf({ type: 'string', nullable: true }), 'string | null');
  assert.equal(typeOf({ type: 'array', items: { type: 'integer' } }), 'array of integer');
  assert.equal(typeOf({ anyOf: [{ enum: ['a'] }, { enum: ['b'] }] }), '"a" \\| "b"');
  assert.equal(typeOf({ type: 'string', format: 'date-time' }), 'string (date-time)');
});
