import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Real answers against the OpenAPI document (issue 19): a tour of the API whose every JSON answer
 * must match the schema the document gives its operation and status, with undeclared fields
 * refused. Routes whose schemas only document them (SERIALIZED_AS_JSON) send what they send;
 * this is where a schema that forgot a field, or got a type wrong, is caught.
 */
let app: TestApp;
let doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: Schema }> }> }>> };
const ajv = new Ajv({ strict: false, allErrors: true });
// ISO 8601 as toISOString writes it (the format every timestamp of the API is in).
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const validators = new Map<string, ValidateFunction>();
const checked = new Set<string>();
const problems: string[] = [];

type Schema = Record<string, unknown>;

/** Every object that lists its properties takes no others (unless it says so): an undeclared field fails. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const copy: Schema = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === 'example' || key === 'examples' ? value : closed(value)]));
  if (copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

function operationOf(method: string, path: string): { template: string; operation: (typeof doc.paths)[string][string] } | null {
  for (const [template, methods] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const operation = methods[method.toLowerCase()];
    if (operation && pattern.test(path)) return { template, operation };
  }
  return null;
}

async function call(method: string, path: string, init: { json?: unknown; body?: string; headers?: Record<string, string>; key?: string | null } = {}): Promise<{ status: number; body: { data?: Record<string, unknown> & unknown[] } & Record<string, unknown> }> {
  const response = await app.api(path, { method, ...init });
  const text = await response.text();
  const bare = path.split('?')[0]!;
  const found = operationOf(method, bare);
  assert.ok(found, `${method} ${bare} is in the document`);
  const name = `${method} ${found.template} ${response.status}`;
  checked.add(name);
  const type = response.headers.get('content-type') ?? '';
  const answer = found.operation.responses[String(response.status)];
  if (!answer) problems.push(`${name}: the document has no ${response.status} for it (${text.slice(0, 200)})`);
  else if (type.startsWith('application/json')) {
    const schema = answer.content?.['application/json']?.schema;
    if (!schema) problems.push(`${name}: no JSON schema`);
    else {
      let validate = validators.get(name);
      if (!validate) validators.set(name, (validate = ajv.compile(closed(schema) as Schema)));
      if (!validate(JSON.parse(text))) problems.push(`${name}: ${ajv.errorsText(validate.errors, { separator: '; ' })} in ${text.slice(0, 400)}`);
    }
  }
  return { status: response.status, body: type.startsWith('application/json') ? JSON.parse(text) : {} };
}

before(async () => {
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
  doc = (await (await app.api('/openapi.json', { key: null })).json()) as typeof doc;
});
after(() => app.stop());

test('a tour of the API: every answer matches its schema in the document', async () => {
  // Emails and what reads them.
  const sent = await call('POST', '/emails', { json: { ...SEED_REQUEST, tags: ['tour'] } });
  const id = String(sent.body.data!.id);
  await call('POST', '/emails/bulk', { json: { messages: [SEED_REQUEST, { ...SEED_REQUEST, to: 'bad address' }] } });
  await eventually(async () => ((await call('GET', `/emails/${id}`)).body.data!.status === 'DELIVERED' ? true : undefined), 15_000, 'delivered to the sandbox');
  for (const path of [`/emails/${id}/content`, `/emails/${id}/events`, `/emails/${id}/callbacks`, `/emails/${id}/webhook-attempts`, '/emails?limit=2', '/emails/msg_nope']) await call('GET', path);
  await call('POST', `/emails/${id}/retry`);
  const later = await call('POST', '/emails', { json: { ...SEED_REQUEST, sendAt: new Date(Date.now() + 3_600_000).toISOString() } });
  await call('POST', `/emails/${String(later.body.data!.id)}/cancel`);
  await call('GET', `/emails/${String(later.body.data!.id)}`);
  await call('GET', '/queue');
  await call('POST', '/queue/retry', { json: {} });
  const caught = await call('GET', '/sandbox/messages?limit=5');
  const caughtId = String((caught.body.data as unknown as { id: number }[])[0]!.id);
  for (const path of [`/sandbox/messages/${caughtId}`, `/sandbox/messages/${caughtId}/content`, `/sandbox/messages/${caughtId}/links`]) await call('GET', path);

  // Account, keys, credentials.
  await call('GET', '/account');
  await call('PATCH', '/account', { json: { trackOpens: true } });
  await call('GET', '/account/reputation');
  const key = await call('POST', '/api-keys', { json: { name: 'tour', scopes: ['read'] } });
  await call('GET', '/api-keys');
  await call('DELETE', `/api-keys/${String(key.body.data!.id)}`);
  const credential = await call('POST', '/smtp-credentials', { json: { type: 'password', name: 'tour' } });
  await call('POST', '/smtp-credentials', { json: { type: 'ip', address: '192.0.2.7' } });
  await call('GET', '/smtp-credentials');
  await call('DELETE', `/smtp-credentials/${String(credential.body.data!.id)}`);

  // Webhooks.
  const hook = await call('POST', '/webhooks', { json: { url: 'http://127.0.0.1:9/tour', eventTypes: ['DELIVERED'] } });
  const hookId = String(hook.body.data!.id);
  await call('GET', '/webhooks');
  await call('GET', `/webhooks/${hookId}`);
  await call('PATCH', `/webhooks/${hookId}`, { json: { description: 'tour' } });
  await call('POST', `/webhooks/${hookId}/rotate-secret`);
  await call('POST', `/webhooks/${hookId}/test`);
  await call('GET', `/webhooks/${hookId}/attempts?limit=5`);
  await call('DELETE', `/webhooks/${hookId}`);

  // Suppressions.
  await call('POST', '/suppressions', { json: { address: 'gone@example.com' } });
  await call('POST', '/suppressions', { json: { addresses: [{ address: 'gone@example.com' }, { address: 'left@example.com', reason: 'UNSUBSCRIBE' }] } });
  await call('POST', '/suppressions/import', { body: 'address\nimported@example.com\n', headers: { 'content-type': 'text/csv' } });
  await call('GET', '/suppressions?limit=2');
  await call('GET', '/suppressions/gone%40example.com');
  await call('DELETE', '/suppressions/gone%40example.com');
  await call('GET', '/suppressions/nobody%40example.com');

  // Domains and senders.
  const domain = await call('POST', '/domains', { json: { domain: 'tour.example' } });
  await call('GET', '/domains');
  await call('GET', `/domains/${String(domain.body.data!.id)}`);
  const sender = await call('POST', '/senders', { json: { email: 'hello@tour.example' } });
  await call('GET', '/senders');
  await call('GET', `/senders/${String(sender.body.data!.id)}`);
  await call('POST', `/senders/${String(sender.body.data!.id)}/resend`);
  await call('DELETE', `/senders/${String(sender.body.data!.id)}`);
  await call('DELETE', `/domains/${String(domain.body.data!.id)}`);

  // Templates, lists, campaigns, reports.
  await call('POST', '/templates', { json: { name: 'tour', subject: 'Hi {{name}}', text: 'Hello {{name}}' } });
  await call('GET', '/templates?limit=5');
  await call('GET', '/templates/tour');
  await call('PUT', '/templates/tour', { json: { subject: 'Hi again', text: 'Hello' } });
  await call('GET', '/templates/tour/versions');
  await call('POST', '/templates/tour/preview', { json: { placeholders: { name: 'Ann' } } });
  const list = await call('POST', '/lists', { json: { name: 'tour' } });
  const listId = String(list.body.data!.id);
  await call('POST', `/lists/${listId}/contacts`, { json: { email: 'ann@example.com', name: 'Ann' } });
  await call('GET', `/lists/${listId}/contacts?limit=5`);
  await call('GET', `/lists/${listId}`);
  await call('GET', '/lists?limit=5');
  const campaign = await call('POST', '/campaigns', { json: { name: 'tour', lists: [listId], from: 'promo@elipackage.com', subject: 'Hi', text: 'Hello' } });
  await call('GET', '/campaigns?limit=5');
  await call('GET', `/campaigns/${String(campaign.body.data!.id)}`);
  await call('GET', '/reports?groupBy=day');
  await call('DELETE', '/templates/tour');

  // Errors.
  await call('GET', '/emails?bogus=1');
  await call('GET', '/account', { key: null });
  await call('POST', '/emails', { json: { ...SEED_REQUEST, to: 'not an address' } });

  assert.deepEqual(problems, [], 'every answer matches the document');
  assert.ok(checked.size >= 60, `the tour checked ${checked.size} operation answers`);
});

test('the check can fail: an undeclared field, a wrong type, a missing field', async () => {
  const account = doc.paths['/account']!.get!.responses['200']!.content!['application/json']!.schema!;
  const validate = ajv.compile(closed(account) as Schema);
  const good = (await (await app.api('/account')).json()) as { meta: unknown; data: Record<string, unknown> };
  assert.ok(validate(good), 'the real answer passes');
  assert.ok(!validate({ ...good, data: { ...good.data, leaked: 'x' } }), 'an undeclared field fails');
  assert.ok(!validate({ ...good, data: { ...good.data, trackOpens: 'yes' } }), 'a wrong type fails');
  const { name: _name, ...nameless } = good.data;
  assert.ok(!validate({ ...good, data: nameless }), 'a missing field fails');
});
