import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * One response shape everywhere (issue 19): every list pages with meta.pagination, every creation
 * answers 201, an email's events carry what its webhook payloads carry, a message and its events
 * spell a reason alike, and POST /emails/bulk answers `data`.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
});
after(() => app.stop());

interface Body {
  meta: { timestamp: number; transactionId: string; pagination?: { limit: number; nextCursor: string | null } };
  data: unknown;
  [key: string]: unknown;
}

async function call(path: string, init: { method?: string; json?: unknown } = {}): Promise<{ status: number; body: Body }> {
  const response = await app.api(path, init);
  return { status: response.status, body: (await response.json()) as Body };
}

async function created(path: string, json: unknown): Promise<Record<string, unknown>> {
  const { status, body } = await call(path, { method: 'POST', json });
  assert.equal(status, 201, `POST ${path} answers 201 Created: ${JSON.stringify(body)}`);
  return body.data as Record<string, unknown>;
}

test('every POST that creates a resource answers 201', async () => {
  await created('/domains', { domain: 'shape.example' });
  await created('/senders', { email: 'hello@shape.example' });
  await created('/webhooks', { url: 'http://127.0.0.1:9/hook' });
  await created('/api-keys', { name: 'shape' });
  await created('/smtp-credentials', { type: 'password', name: 'shape' });
  await created('/suppressions', { address: 'gone@shape.example' });
  await created('/templates', { name: 'shape', subject: 'Hi', text: 'Hello' });
  const list = await created('/lists', { name: 'shape' });
  await created('/campaigns', { name: 'shape', lists: [list.id], from: 'promo@elipackage.com', subject: 'Hi', text: 'Hello' });
  // The send keeps the seed's answer (the product contract): 200.
  assert.equal((await call('/emails', { method: 'POST', json: SEED_REQUEST })).status, 200, 'POST /emails stays 200');
  // A suppression of an address already listed creates nothing: 200, as an existing list member.
  assert.equal((await call('/suppressions', { method: 'POST', json: { address: 'gone@shape.example' } })).status, 200, 'an address already listed is 200');
});

test('every list pages with meta.pagination {limit, nextCursor}, never a top-level cursor', async () => {
  await created('/templates', { name: 'pages-a', subject: 'A', text: 'A' });
  await created('/templates', { name: 'pages-b', subject: 'B', text: 'B' });
  const list = await created('/lists', { name: 'pages' });
  const hook = await created('/webhooks', { url: 'http://127.0.0.1:9/pages' });
  const campaign = await created('/campaigns', { name: 'pages', lists: [list.id], from: 'promo@elipackage.com', subject: 'Hi', text: 'Hello' });
  await created('/api-keys', { name: 'pages-a' });
  const lists = [
    '/templates?limit=1',
    '/templates/pages-a/versions?limit=1',
    '/suppressions?limit=1',
    '/lists?limit=1',
    `/lists/${String(list.id)}/contacts?limit=1`,
    `/lists/${String(list.id)}/imports?limit=1`,
    '/campaigns?limit=1',
    '/reports?groupBy=day&limit=1',
    '/emails?limit=1',
    '/sandbox/messages?limit=1',
    `/webhooks/${String(hook.id)}/attempts?limit=1`,
    '/api-keys?limit=1',
    `/campaigns/${String(campaign.id)}/recipients?limit=1`,
  ];
  for (const path of lists) {
    const { status, body } = await call(path);
    assert.equal(status, 200, `${path}: ${JSON.stringify(body)}`);
    assert.equal(body.nextCursor, undefined, `${path} has no top-level nextCursor`);
    assert.equal(body.next, undefined, `${path} has no top-level next`);
    assert.ok(Array.isArray(body.data), `${path} answers data as an array`);
    assert.equal(body.meta.pagination?.limit, 1, `${path} says its limit in meta.pagination`);
    const next = body.meta.pagination?.nextCursor;
    assert.ok(next === null || typeof next === 'string', `${path}: meta.pagination.nextCursor is a string or null, not ${JSON.stringify(next)}`);
  }
  const templates = await call('/templates?limit=1');
  const nextPage = await call(`/templates?limit=1&cursor=${encodeURIComponent(templates.body.meta.pagination!.nextCursor!)}`);
  assert.notDeepEqual(nextPage.body.data, templates.body.data, 'the cursor in meta.pagination pages on');
  const keys = await call('/api-keys?limit=1');
  const moreKeys = await call(`/api-keys?limit=1&cursor=${keys.body.meta.pagination!.nextCursor!}`);
  assert.notDeepEqual(moreKeys.body.data, keys.body.data, 'API keys page on with cursor too');
});

test("an email's events carry its alias and tags as its webhook payloads do", async () => {
  const sent = await call('/emails', { method: 'POST', json: { ...SEED_REQUEST, tags: ['promo'] } });
  const id = (sent.body.data as { id: string }).id;
  const events = (await call(`/emails/${id}/events`)).body.data as Record<string, unknown>[];
  assert.ok(events.length > 0, 'the email has events');
  for (const event of events) {
    assert.equal(event.alias, 'New User', 'each event carries the alias');
    assert.deepEqual(event.tags, ['promo'], 'each event carries the tags');
    assert.deepEqual(Object.keys(event), ['id', 'type', 'messageId', 'externalId', 'clientId', 'alias', 'campaignId', 'tags', 'to', 'from', 'timestamp', 'details'], 'the fields of a webhook payload, in its order');
  }
});

test('a rejected message and its REJECTED event spell the reason alike', async () => {
  await call('/suppressions', { method: 'POST', json: { address: 'blocked@example.com', reason: 'COMPLAINT' } });
  const sent = await call('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'blocked@example.com' } });
  const message = sent.body.data as { id: string; reason: string; suppressionReason: string };
  assert.equal(message.reason, 'SUPPRESSED', 'the send says SUPPRESSED');
  const read = (await call(`/emails/${message.id}`)).body.data as { reason: string };
  const events = (await call(`/emails/${message.id}/events`)).body.data as { type: string; details: { reason?: string } }[];
  const rejected = events.find((event) => event.type === 'REJECTED');
  assert.ok(rejected, 'a REJECTED event');
  assert.equal(rejected.details.reason, read.reason, 'the event spells the reason as the message');

  const later = await call('/emails', { method: 'POST', json: { ...SEED_REQUEST, sendAt: new Date(Date.now() + 3_600_000).toISOString() } });
  const laterId = (later.body.data as { id: string }).id;
  assert.equal((await call(`/emails/${laterId}/cancel`, { method: 'POST' })).status, 200, 'canceled');
  const canceled = (await call(`/emails/${laterId}`)).body.data as { reason: string };
  const canceledEvent = ((await call(`/emails/${laterId}/events`)).body.data as { type: string; details: { reason?: string } }[]).find((event) => event.type === 'REJECTED');
  assert.deepEqual([canceled.reason, canceledEvent?.details.reason], ['CANCELED', 'CANCELED'], 'a canceled message and its event say CANCELED');
});

test('POST /emails/bulk answers data: one result per message, in order', async () => {
  const messages = [{ ...SEED_REQUEST, to: 'one@example.com' }, { ...SEED_REQUEST, to: 'not an address' }, { ...SEED_REQUEST, to: 'three@example.com' }];
  const { status, body } = await call('/emails/bulk', { method: 'POST', json: { messages } });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.results, undefined, 'no results field');
  const data = body.data as ({ data: { to: string } } | { error: { code: string } })[];
  assert.ok(Array.isArray(data) && data.length === 3, `three results in data: ${JSON.stringify(body)}`);
  assert.equal('data' in data[0]! && data[0].data.to, 'one@example.com');
  assert.equal('error' in data[1]! && data[1].error.code, 'VALIDATION_ERROR');
  assert.equal('data' in data[2]! && data[2].data.to, 'three@example.com');
});

test('contacts added or removed in bulk answer data too: one result per contact, in order', async () => {
  const list = (await call('/lists', { method: 'POST', json: { name: 'Shape' } })).body.data as { id: string };
  const added = await call(`/lists/${list.id}/contacts`, { method: 'POST', json: { contacts: [{ email: 'a@example.com' }, { email: 'not an address' }] } });
  assert.equal(added.body.results, undefined, 'no results field');
  const data = added.body.data as ({ result: string } | { error: { code: string } })[];
  assert.deepEqual(data.map((entry) => ('error' in entry ? entry.error.code : entry.result)), ['added', 'VALIDATION_ERROR']);
  const removed = await call(`/lists/${list.id}/contacts/remove`, { method: 'POST', json: { contacts: ['a@example.com', 'b@example.com'] } });
  assert.equal(removed.body.results, undefined, 'no results field');
  assert.deepEqual((removed.body.data as { removed: boolean }[]).map((entry) => entry.removed), [true, false]);
});
