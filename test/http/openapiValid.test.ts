import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { validate } from '@readme/openapi-parser';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The OpenAPI document (issue 19) is valid for an independent validator, with every rule an
 * error, and complete: each operation has its operationId, a 2xx answer with its schema, and
 * the errors it can answer.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp({ MAILROOM_PUBLIC_URL: 'https://mail.example.com/' });
});
after(() => app.stop());

interface Response { description?: string; content?: Record<string, { schema?: unknown; example?: unknown }> }
interface Operation { operationId?: string; responses: Record<string, Response>; requestBody?: { content: Record<string, { example?: unknown }> }; security?: unknown[] }
interface Document { openapi: string; servers?: { url: string }[]; paths: Record<string, Record<string, Operation>> }

async function document(): Promise<Document> {
  const response = await app.api('/openapi.json', { key: null });
  assert.equal(response.status, 200, 'the document is served');
  return (await response.json()) as Document;
}

const RULES = [
  'array-without-items', 'duplicate-non-request-body-parameters', 'duplicate-operation-id', 'invalid-security-scheme-properties',
  'non-optional-path-parameters', 'path-parameters-not-in-parameters', 'path-parameters-not-in-path', 'unknown-required-schema-property',
] as const;

test('@readme/openapi-parser finds no error and no warning, every rule an error', async () => {
  const rules = Object.fromEntries(RULES.map((rule) => [rule, 'error' as const]));
  const result = await validate(structuredClone(await document()) as never, { validate: { rules: { openapi: rules } } });
  assert.deepEqual(result.valid ? [] : result.errors.map((error) => error.message), [], 'no validation errors');
  assert.deepEqual(result.warnings.map((warning) => warning.message), [], 'no warnings');
  assert.equal(result.specification, 'OpenAPI');
});

test('the validator does fail a broken document (the test above can fail)', async () => {
  const broken = structuredClone(await document());
  const first = Object.values(broken.paths)[0]!;
  const second = Object.values(broken.paths)[1]!;
  Object.values(second)[0]!.operationId = Object.values(first)[0]!.operationId;
  const result = await validate(broken as never, { validate: { rules: { openapi: { 'duplicate-operation-id': 'error' } } } });
  assert.equal(result.valid, false, 'a duplicate operationId is an error');
});

test('every operation has an operationId, a 2xx answer with a schema, and its 4xx answers', async () => {
  const doc = await document();
  const problems: string[] = [];
  let operations = 0;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations++;
      const name = `${method.toUpperCase()} ${path}`;
      if (!operation.operationId) problems.push(`${name}: no operationId`);
      const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
      const described = success.some(([status, response]) => status === '204' || Object.values(response.content ?? {}).some((media) => media.schema));
      if (!described) problems.push(`${name}: no 2xx answer with a schema`);
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response.description || response.description === 'Default Response') problems.push(`${name} ${status}: no description`);
        if (/^[45]/.test(status) && !response.content?.['application/json']?.schema) problems.push(`${name} ${status}: no error schema`);
      }
      const expected = ['400', '503'];
      if (!Array.isArray(operation.security) || operation.security.length > 0) expected.push('401', '403');
      if (path.includes('{')) expected.push('404');
      if (operation.requestBody) expected.push('413', '415');
      for (const status of expected) if (!operation.responses[status]) problems.push(`${name}: no ${status}`);
    }
  }
  assert.deepEqual(problems, [], 'every operation is complete');
  assert.ok(operations >= 90, `the API's operations are documented (${operations})`);
  const rateLimited = ['/emails', '/emails/bulk'].map((path) => doc.paths[path]!.post!.responses['429']);
  assert.ok(rateLimited.every(Boolean), 'the sends can answer 429');
});

test('servers: MAILROOM_PUBLIC_URL, then this listener', async () => {
  const doc = await document();
  assert.deepEqual(doc.servers?.map((server) => server.url), ['https://mail.example.com', app.url], 'public URL and the listen address');
});

test('POST /emails shows the seed as its examples', async () => {
  const send = (await document()).paths['/emails']!.post!;
  const request = send.requestBody?.content['application/json']?.example as { to?: string; alias?: string } | undefined;
  assert.equal(request?.to, 'john.doe@example.com', 'the request example is the seed');
  const answer = send.responses['200']!.content!['application/json']!.example as { data?: { status?: string } } | undefined;
  assert.equal(answer?.data?.status, 'QUEUED', 'the response example is the seed answer');
});
