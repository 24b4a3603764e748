import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { messageQuery, STATUSES } from '../../console/src/format.js';
import { reportUrl, seriesUrl } from '../../console/src/reportData.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createList, json } from '../helpers/lists.js';

/**
 * Query strings are closed (issue 19): a parameter a route does not take is a 400 naming it, on
 * routes that declare their parameters and on those that declare none, rather than ignored (a
 * misspelt filter would otherwise list everything); a cursor that is not one the API returned is
 * a 400 naming `cursor`. The public routes opened from mail take what a mail client appends, and
 * every query string the console sends is still answered.
 */
let app: TestApp;
let listId: string;
let templateId: string;
let webhookId: number;
before(async () => {
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
  listId = (await createList(app)).id;
  templateId = (await json<{ data: { id: string } }>(await app.api('/templates', { method: 'POST', json: { name: 'welcome', subject: 'Hi', text: 'Hello' } }), 201)).data.id;
  webhookId = (await json<{ data: { id: number } }>(await app.api('/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/hook' } }), 201)).data.id;
});
after(async () => app.stop());

interface ErrorBody {
  error: { code: string; details: { field: string; message: string }[] };
}

async function refused(path: string, field: string, init: RequestInit & { json?: unknown } = {}): Promise<ErrorBody> {
  const response = await app.api(path, init);
  const body = (await response.json()) as ErrorBody;
  assert.equal(response.status, 400, `${path}: ${JSON.stringify(body)}`);
  assert.equal(body.error.code, 'VALIDATION_ERROR', path);
  assert.deepEqual(body.error.details.map((detail) => detail.field), [field], `${path}: ${JSON.stringify(body)}`);
  return body;
}

test('an unknown parameter is refused and named, with the parameters the route takes', async () => {
  const body = await refused('/emails?staus=FAILED', 'staus');
  assert.match(body.error.details[0]!.message, /^is not a parameter of this route \(it takes: status, externalId, .*cursor\)$/);
  await refused('/suppressions?limit=5&reasons=MANUAL', 'reasons');
  await refused('/reports?groupBy=day&format=json&page=2', 'page');
  await refused('/emails?unsubscribeMsg=Leave&track=1', 'track', { method: 'POST', json: { to: 'john.doe@example.com', from: 'promo@elipackage.com', subject: 'Hi', text: 'Hello' } });
});

test('a route that declares no query string takes none', async () => {
  const body = await refused('/queue?destination=example.com', 'destination');
  assert.equal(body.error.details[0]!.message, 'is not a parameter of this route (it takes none)');
  await refused('/account?verbose=1', 'verbose');
  await refused(`/webhooks/${webhookId}?expand=secret`, 'expand');
});

test('a malformed cursor is refused, naming cursor, on every list that pages with one', async () => {
  for (const path of [
    '/emails', '/suppressions', '/templates', '/lists', '/campaigns', '/sandbox/messages', `/webhooks/${webhookId}/attempts`,
    `/templates/${templateId}/versions`, `/lists/${listId}/contacts`, `/lists/${listId}/imports`, '/reports?groupBy=day',
  ]) {
    await refused(`${path}${path.includes('?') ? '&' : '?'}cursor=not%20a%20cursor`, 'cursor');
  }
  await refused('/emails?cursor=01jzzzzzzzzzzzzzzzzzz', 'cursor');
});

test('the cursors the API returns are taken back', async () => {
  for (let i = 0; i < 3; i++) {
    await json(await app.api('/emails', { method: 'POST', json: { to: `r${i}@example.com`, from: 'promo@elipackage.com', subject: 'Hi', text: 'Hello' } }));
  }
  const first = await json<{ meta: { pagination: { nextCursor: string } }; data: { id: string }[] }>(await app.api('/emails?limit=2'));
  const second = await json<{ data: { id: string }[] }>(await app.api(`/emails?limit=2&cursor=${first.meta.pagination.nextCursor}`));
  assert.equal(second.data.length, 1);
});

test('the public routes opened from mail or a browser take any query string', async () => {
  assert.equal((await app.api('/healthz?utm_source=mail', { key: null })).status, 200);
  assert.notEqual((await app.api('/t/o/0123456789abcdefghjkmn/pixel.gif?utm_source=x', { key: null })).status, 400);
});

test('every query string the console sends is answered (none is a 400)', async () => {
  const filters = { status: 'QUEUED', to: 'a@example.com', from: 'b@example.com', externalId: 'e', clientId: 'c', campaignId: 'cmp_x', tag: 't', after: '2026-01-01', before: '2026-02-01' };
  const paths = [
    `/emails?${messageQuery(filters, null, 50)}`,
    `/events/stream?types=${STATUSES.join(',')}`,
    reportUrl({ groupBy: 'day', from: '2026-01-01', to: '2026-02-01', limit: 100 }),
    reportUrl({ groupBy: 'tag', from: '2026-01-01', to: '2026-02-01', format: 'csv' }),
    seriesUrl({ interval: 'hour', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', campaignId: 'cmp_x', format: 'csv' }),
    '/reports/timeseries?interval=day',
    '/lists?limit=100', '/lists?limit=50', `/lists/${listId}/imports?limit=10`, `/lists/${listId}/contacts?limit=50&status=subscribed`,
    '/templates?limit=50', '/templates?limit=100', `/templates/${templateId}/versions?limit=10`,
    '/campaigns?limit=50&state=draft', `/webhooks/${webhookId}/attempts?limit=25`, '/sandbox/messages?limit=50',
    '/api-keys?limit=1000', '/suppressions?limit=100&reason=MANUAL',
  ];
  for (const path of paths) {
    if (path.startsWith('/events/stream')) {
      const controller = new AbortController();
      const response = await app.api(path, { signal: controller.signal });
      assert.equal(response.status, 200, path);
      controller.abort();
      continue;
    }
    const response = await app.api(path);
    assert.ok(response.status < 400, `${path}: ${response.status} ${await response.text()}`);
  }
  // A campaign's report and its CSV links (no such campaign here: a 404, and not a 400).
  const campaign = `cmp_${'0'.repeat(22)}`;
  for (const path of [`/campaigns/${campaign}/report?links=20`, `/campaigns/${campaign}/links?format=csv`, `/campaigns/${campaign}/recipients.csv?event=delivered`]) {
    const response = await app.api(path);
    assert.equal(response.status, 404, `${path}: ${response.status} ${await response.text()}`);
  }
});
