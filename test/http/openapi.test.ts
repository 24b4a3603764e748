import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: Record<string, unknown> } }> }; parameters?: { name: string; in: string }[] }>>;
}

test('the OpenAPI document falls out of the route schemas', async () => {
  const response = await app.api('/openapi.json', { key: null });
  assert.equal(response.status, 200);
  const doc = (await response.json()) as OpenApi;
  assert.match(doc.openapi, /^3\./);
  const send = doc.paths['/emails']?.post;
  assert.ok(send, 'POST /emails is documented');
  const schema = send.requestBody?.content['application/json']?.schema;
  // text may be left out when html gives it (the plain-text part is derived); to is an address or an array of them.
  assert.deepEqual(schema?.required?.sort(), ['from', 'subject', 'to']);
  for (const field of ['externalId', 'clientId', 'callbacks', 'alias', 'attachments', 'sendAt']) {
    assert.ok(schema?.properties?.[field], `${field} documented`);
  }
  assert.ok(send.parameters?.some((parameter) => parameter.name === 'unsubscribeMsg' && parameter.in === 'query'));
  for (const path of ['/emails/bulk', '/emails/{id}', '/emails/{id}/events', '/sandbox/messages', '/sandbox/messages/{id}']) {
    assert.ok(doc.paths[path], `${path} documented`);
  }
  assert.equal(doc.paths['/healthz'], undefined, 'operational routes are hidden');

  // Every operation has an operationId, each its own.
  const ids = Object.values(doc.paths).flatMap((operations) => Object.values(operations).map((operation) => (operation as { operationId?: string }).operationId));
  assert.ok(ids.every((id) => typeof id === 'string' && /^[a-z]+[A-Za-z0-9]*$/.test(id)), JSON.stringify(ids.filter((id) => !id)));
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  assert.equal((doc.paths['/campaigns/{id}/{action}']?.post as { operationId?: string } | undefined)?.operationId, 'postCampaignsByIdByAction');
  assert.equal((doc.paths['/emails']?.post as { operationId?: string } | undefined)?.operationId, 'postEmails');
});

test('health and readiness answer without a key', async () => {
  assert.equal((await app.api('/healthz', { key: null })).status, 200);
  const ready = await app.api('/readyz', { key: null });
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
});

test('unknown routes are JSON 404s', async () => {
  const response = await app.api('/nope');
  assert.equal(response.status, 404);
  const body = (await response.json()) as { error: { code: string } };
  assert.equal(body.error.code, 'NOT_FOUND');
});
