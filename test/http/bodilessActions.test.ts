import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setOperatorPassword } from '../../src/accounts/operators.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

/**
 * Issue 19: an action that takes no body answers the same whether it is called with no body, or
 * with an empty one under `Content-Type: application/json` (what many HTTP clients send on every
 * request). Fastify's own JSON parser answered the latter 400 FST_ERR_CTP_EMPTY_JSON_BODY. Each
 * case makes its own fresh resource for each call, so every call meets the same state; a guard
 * test keeps the table complete against the OpenAPI document.
 */
let app: TestApp;
let dns: TestDnsServer;
let receiver: WebhookReceiver;
const PASSWORD = 'correct horse battery staple';
const LATER = () => new Date(Date.now() + 86_400_000).toISOString();

interface Call { path: string; headers?: Record<string, string>; key?: null }
interface Case { method: 'POST' | 'DELETE'; route: string; expect: number; prepare: () => Promise<Call> }

async function created<T>(path: string, json: unknown): Promise<T> {
  const response = await app.api(path, { method: 'POST', json });
  assert.ok(response.ok, `${path}: ${response.status} ${await response.clone().text()}`);
  return ((await response.json()) as { data: T }).data;
}

const scheduledEmail = async () => (await created<{ id: string }>('/emails', { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: 'Later', text: 'Body', sendAt: LATER() })).id;
const webhook = async () => (await created<{ id: number }>('/webhooks', { url: `${receiver.base}/hook` })).id;
let domainCount = 0;
const domain = async () => (await created<{ id: number }>('/domains', { domain: `d${++domainCount}.example.com` })).id;
let senderCount = 0;
const sender = async () => (await created<{ id: number }>('/senders', { email: `sender${++senderCount}@elsewhere.example.com` })).id;
let listCount = 0;
const list = async () => (await created<{ id: string }>('/lists', { name: `List ${++listCount}` })).id;
const campaign = async () => (await created<{ id: string }>('/campaigns', { name: 'Spring', from: 'promo@elipackage.com', subject: 'Spring', text: 'Hello', lists: [await list()] })).id;
let templateCount = 0;
const template = async () => (await created<{ id: string }>('/templates', { name: `template-${++templateCount}`, subject: 'Hi', text: 'Hello' })).id;
let memberCount = 0;
async function member(): Promise<{ list: string; contact: string }> {
  const listId = await list();
  const email = `member${++memberCount}@example.com`;
  await created(`/lists/${listId}/contacts`, { email });
  return { list: listId, contact: email };
}

/** A console session of an admin operator: its cookie and CSRF token. */
async function adminSession(): Promise<Record<string, string>> {
  const response = await fetch(`${app.url}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'default', operator: 'root', password: PASSWORD }) });
  assert.equal(response.status, 200, await response.clone().text());
  const { csrfToken } = ((await response.json()) as { data: { csrfToken: string } }).data;
  return { cookie: response.headers.getSetCookie()[0]!.split(';')[0]!, 'x-csrf-token': csrfToken };
}

const CASES: Case[] = [
  { method: 'POST', route: '/queue/retry', expect: 200, prepare: async () => ({ path: '/queue/retry' }) },
  { method: 'POST', route: '/emails/{id}/retry', expect: 200, prepare: async () => ({ path: `/emails/${await scheduledEmail()}/retry` }) },
  { method: 'POST', route: '/emails/{id}/cancel', expect: 200, prepare: async () => ({ path: `/emails/${await scheduledEmail()}/cancel` }) },
  { method: 'POST', route: '/webhooks/{id}/test', expect: 200, prepare: async () => ({ path: `/webhooks/${await webhook()}/test` }) },
  { method: 'POST', route: '/webhooks/{id}/rotate-secret', expect: 200, prepare: async () => ({ path: `/webhooks/${await webhook()}/rotate-secret` }) },
  { method: 'POST', route: '/webhooks/{id}/deliveries/{deliveryId}/redeliver', expect: 404, prepare: async () => ({ path: `/webhooks/${await webhook()}/deliveries/999999/redeliver` }) },
  { method: 'DELETE', route: '/webhooks/{id}', expect: 200, prepare: async () => ({ path: `/webhooks/${await webhook()}` }) },
  { method: 'POST', route: '/domains/{id}/verify', expect: 200, prepare: async () => ({ path: `/domains/${await domain()}/verify` }) },
  { method: 'POST', route: '/domains/{id}/rotate', expect: 200, prepare: async () => ({ path: `/domains/${await domain()}/rotate` }) },
  { method: 'DELETE', route: '/domains/{id}', expect: 200, prepare: async () => ({ path: `/domains/${await domain()}` }) },
  { method: 'POST', route: '/senders/{id}/resend', expect: 429, prepare: async () => ({ path: `/senders/${await sender()}/resend` }) },
  { method: 'DELETE', route: '/senders/{id}', expect: 204, prepare: async () => ({ path: `/senders/${await sender()}` }) },
  { method: 'DELETE', route: '/api-keys/{id}', expect: 200, prepare: async () => ({ path: `/api-keys/${(await created<{ id: number }>('/api-keys', { name: 'spare' })).id}` }) },
  { method: 'DELETE', route: '/smtp-credentials/{id}', expect: 200, prepare: async () => ({ path: `/smtp-credentials/${(await created<{ id: number }>('/smtp-credentials', { type: 'password' })).id}` }) },
  { method: 'POST', route: '/suppressions/import', expect: 415, prepare: async () => ({ path: '/suppressions/import' }) },
  { method: 'DELETE', route: '/suppressions/{address}', expect: 404, prepare: async () => ({ path: '/suppressions/nobody%40example.com' }) },
  { method: 'DELETE', route: '/templates/{id}', expect: 200, prepare: async () => ({ path: `/templates/${await template()}` }) },
  // Optional bodies: none (or an empty one) is {}.
  { method: 'POST', route: '/templates/{id}/preview', expect: 200, prepare: async () => ({ path: `/templates/${await template()}/preview` }) },
  { method: 'DELETE', route: '/lists/{id}', expect: 200, prepare: async () => ({ path: `/lists/${await list()}` }) },
  { method: 'DELETE', route: '/lists/{id}/contacts/{contact}', expect: 200, prepare: async () => { const found = await member(); return { path: `/lists/${found.list}/contacts/${encodeURIComponent(found.contact)}` }; } },
  { method: 'DELETE', route: '/contacts/{contact}', expect: 200, prepare: async () => ({ path: `/contacts/${encodeURIComponent((await member()).contact)}` }) },
  { method: 'DELETE', route: '/lists/{id}/imports/{importId}', expect: 404, prepare: async () => ({ path: `/lists/${await list()}/imports/imp_0000000000000000` }) },
  { method: 'DELETE', route: '/campaigns/{id}', expect: 200, prepare: async () => ({ path: `/campaigns/${await campaign()}` }) },
  { method: 'POST', route: '/campaigns/{id}/{action}', expect: 200, prepare: async () => ({ path: `/campaigns/${await campaign()}/cancel` }) },
  { method: 'POST', route: '/campaigns/{id}/{action}', expect: 200, prepare: async () => ({ path: `/campaigns/${await campaign()}/start` }) },
  { method: 'DELETE', route: '/session', expect: 200, prepare: async () => ({ path: '/session', headers: await adminSession(), key: null }) },
  { method: 'POST', route: '/admin/accounts/{name}/reinstate', expect: 200, prepare: async () => ({ path: '/admin/accounts/default/reinstate', headers: await adminSession(), key: null }) },
];

/** The three ways a client calls an action without a body. */
const VARIANTS: { name: string; headers: Record<string, string>; body?: string }[] = [
  { name: 'no body', headers: {} },
  { name: 'an empty body with Content-Type: application/json', headers: { 'content-type': 'application/json' }, body: '' },
  { name: 'an empty body with Content-Type: application/json; charset=utf-8', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '' },
];

before(async () => {
  dns = await startDnsServer({});
  receiver = await startWebhookReceiver();
  // The webhooks' receiver is on loopback.
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_DNS_SERVERS: dns.address });
  await setOperatorPassword(app.mailroom.db, 'default', 'root', PASSWORD, 'admin');
});
after(async () => {
  await app.stop();
  await receiver.close();
  await dns.close();
});

test('every bodiless action answers an empty JSON body as it answers no body', async () => {
  for (const entry of CASES) {
    for (const variant of VARIANTS) {
      const call = await entry.prepare();
      const response = await app.api(call.path, {
        method: entry.method,
        headers: { ...call.headers, ...variant.headers },
        ...(variant.body !== undefined ? { body: variant.body } : {}),
        ...(call.key === null ? { key: null } : {}),
      });
      const text = await response.text();
      assert.equal(response.status, entry.expect, `${entry.method} ${call.path} with ${variant.name}: ${text}`);
      if (response.status >= 400) assert.doesNotMatch(text, /INVALID_JSON/, `${entry.method} ${call.path} with ${variant.name}`);
    }
  }
});

test('the table above names every POST and DELETE operation that takes no body', async () => {
  const doc = (await (await app.api('/openapi.json')).json()) as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
  const covered = new Set(CASES.map((entry) => `${entry.method} ${entry.route}`));
  const missing = Object.entries(doc.paths).flatMap(([path, operations]) => Object.entries(operations)
    .filter(([method, operation]) => (method === 'post' || method === 'delete') && operation.requestBody === undefined)
    .map(([method]) => `${method.toUpperCase()} ${path}`)
    .filter((name) => !covered.has(name)));
  assert.deepEqual(missing, []);
});

test('a route that needs a body still answers its validation 400 to an empty JSON body; a malformed one is still INVALID_JSON', async () => {
  for (const path of ['/emails', '/webhooks', '/lists']) {
    const response = await app.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    const body = (await response.json()) as { error: { code: string } };
    assert.equal(response.status, 400, path);
    assert.equal(body.error.code, 'VALIDATION_ERROR', path);
  }
  const broken = await app.api('/emails', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"to":' });
  assert.equal(broken.status, 400);
  assert.equal(((await broken.json()) as { error: { code: string } }).error.code, 'INVALID_JSON');
  const poisoned = await app.api('/emails', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"__proto__": {"admin": true}}' });
  assert.equal(poisoned.status, 400, 'prototype poisoning is still refused');
});
