import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * A wrong method on a path that exists is a 405 with `Allow` naming the path's methods, in SPEC
 * section 11's shape (issue 19); a path that does not exist stays a 404.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => app.stop());

interface ErrorBody {
  meta: { transactionId: string };
  error: { code: string; message: string; details: unknown[] };
}

async function notAllowed(method: string, path: string, allow: string, key?: string | null): Promise<void> {
  const response = await app.api(path, { method, ...(key === undefined ? {} : { key }) });
  const body = (await response.json()) as ErrorBody;
  assert.equal(response.status, 405, `${method} ${path}: ${JSON.stringify(body)}`);
  assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
  assert.equal(body.error.code, 'METHOD_NOT_ALLOWED');
  assert.deepEqual(body.error.details, []);
  assert.ok(body.meta.transactionId);
}

test('a wrong method on a known path: 405 and Allow', async () => {
  await notAllowed('PUT', '/emails', 'GET, HEAD, POST');
  await notAllowed('DELETE', '/queue', 'GET, HEAD');
  await notAllowed('GET', '/emails/0123456789abcdefghjkmn/cancel', 'POST');
  await notAllowed('POST', '/webhooks/12', 'GET, HEAD, PATCH, DELETE');
  await notAllowed('PATCH', '/emails?status=QUEUED', 'GET, HEAD, POST');
});

test('the 405 does not wait for a key: the path and its methods are public (the OpenAPI document)', async () => {
  await notAllowed('PUT', '/emails', 'GET, HEAD, POST', null);
});

test('an unknown path stays 404, with any method', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const response = await app.api('/no-such-thing', { method });
    const body = (await response.json()) as ErrorBody;
    assert.equal(response.status, 404, method);
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.equal(response.headers.get('allow'), null);
  }
  assert.equal((await app.api('/emails/0123456789abcdefghjkmn/nothing')).status, 404);
});

test('the right method is answered as before', async () => {
  assert.equal((await app.api('/queue')).status, 200);
  assert.equal((await app.api('/queue', { method: 'HEAD' })).status, 200);
});
