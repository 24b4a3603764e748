import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createKey } from '../../src/accounts/apiKeys.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';

/** Reports are returned once even to fetches made at the same moment; scopes hold at this door too. */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

const get = async (path: string, key = app.key) => (await fetch(`${app.url}${path}`, { headers: { authorization: `App ${key}` } })).json() as Promise<{ results: { messageId: string; status: { groupName: string } }[] }>;

test('two fetches at once share the reports between them, none twice', async () => {
  const data = new FormData();
  for (const field of [['from', 'promo@elipackage.com'], ['subject', 'Race'], ['text', 'x'], ['bulkId', 'race-bulk']]) data.append(field[0]!, field[1]!);
  for (let index = 0; index < 6; index++) data.append('to', `race${index}@example.com`);
  const sent = await fetch(`${app.url}/email/3/send`, { method: 'POST', headers: { authorization: `App ${app.key}` }, body: data });
  assert.equal(sent.status, 200);
  const ids = ((await sent.json()) as { messages: { messageId: string }[] }).messages.map((message) => message.messageId);
  await eventually(async () => {
    const logs = await get('/email/1/logs?bulkId=race-bulk&generalStatus=DELIVERED');
    return logs.results.length === ids.length;
  }, 20_000, 'all six delivered');
  const [first, second] = await Promise.all([get('/email/1/reports?bulkId=race-bulk'), get('/email/1/reports?bulkId=race-bulk')]);
  const returned = [...first.results, ...second.results].map((report) => report.messageId);
  assert.equal(new Set(returned).size, returned.length, `no report returned twice: ${returned.join(', ')}`);
  assert.deepEqual(returned.sort(), [...ids].sort(), 'every report returned once between the two');
  assert.deepEqual((await get('/email/1/reports?bulkId=race-bulk')).results, [], 'none left');
  // limit pages through what is left: here nothing, and a bad limit is Infobip's 400.
  const bad = await fetch(`${app.url}/email/1/reports?limit=0`, { headers: { authorization: `App ${app.key}` } });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { requestError: { serviceException: { messageId: string } } }).requestError.serviceException.messageId, 'BAD_REQUEST');
});

test('a read-only key cannot send here (403 in the envelope); a send-only key cannot read reports', async () => {
  const readOnly = (await createKey(app.mailroom.db, { accountName: 'default', name: 'ro', scopes: ['read'] })).key;
  const sendOnly = (await createKey(app.mailroom.db, { accountName: 'default', name: 'so', scopes: ['send'] })).key;
  const data = new FormData();
  for (const [name, value] of [['from', 'promo@elipackage.com'], ['to', 'x@example.com'], ['subject', 's'], ['text', 't']]) data.append(name!, value!);
  const refused = await fetch(`${app.url}/email/3/send`, { method: 'POST', headers: { authorization: `App ${readOnly}` }, body: data });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { requestError: { serviceException: { messageId: string } } }).requestError.serviceException.messageId, 'FORBIDDEN');
  const sent = await fetch(`${app.url}/email/3/send`, { method: 'POST', headers: { authorization: `App ${sendOnly}` }, body: data });
  assert.equal(sent.status, 200, 'a send key sends through the door');
  const read = await fetch(`${app.url}/email/1/reports`, { headers: { authorization: `App ${sendOnly}` } });
  assert.equal(read.status, 403, 'a send key does not read reports');
});
