import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';

/** Raw multipart requests at Infobip's door, as any HTTP client (not only the SDK) sends them. */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

interface SendAnswer {
  bulkId: string;
  messages: { to: string; messageId: string; status: { groupId: number; groupName: string; id: number; name: string } }[];
}
interface ServiceException {
  requestError: { serviceException: { messageId: string; text: string; validationErrors?: Record<string, string[]> } };
}

function form(fields: [string, string][]): FormData {
  const data = new FormData();
  for (const [name, value] of fields) data.append(name, value);
  return data;
}

const BASE: [string, string][] = [['from', 'promo@elipackage.com'], ['subject', 'Hello'], ['text', 'Hi there']];

function send(body: FormData | string, key = app.key, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}/email/3/send`, { method: 'POST', headers: { authorization: `App ${key}`, ...headers }, body });
}

async function emailOf(id: string): Promise<{ to: string; clientId: string | null; campaignId: string | null; externalId: string | null; status: string; sendAt: string | null }> {
  const response = await app.api(`/emails/${id}`);
  assert.equal(response.status, 200, `GET /emails/${id}`);
  return ((await response.json()) as { data: never }).data;
}

test("every spelling of to is a recipient: to, to[0], to['0'], to[\"0\"]; callbackData is the clientId, bulkId the campaign", async () => {
  const response = await send(form([
    ...BASE,
    ['to', 'a@example.com'], ['to[1]', 'b@example.com'], ["to['2']", 'c@example.com'], ['to["3"]', 'd@example.com'],
    ['callbackData', 'customer-42'], ['bulkId', 'spring-bulk-1'],
  ]));
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as SendAnswer;
  assert.equal(body.bulkId, 'spring-bulk-1');
  assert.deepEqual(body.messages.map((message) => message.to), ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']);
  assert.ok(body.messages.every((message) => message.status.groupName === 'PENDING' && message.status.id === 26 && message.status.name === 'PENDING_ACCEPTED'), 'accepted as PENDING_ACCEPTED');
  assert.equal(new Set(body.messages.map((message) => message.messageId)).size, 4, 'each recipient its own message id');
  for (const message of body.messages) {
    const email = await emailOf(message.messageId);
    assert.equal(email.to, message.to);
    assert.equal(email.clientId, 'customer-42', 'callbackData is stored as clientId');
    assert.equal(email.campaignId, 'spring-bulk-1', 'bulkId is stored as campaignId');
  }
});

test('without a bulkId one is made; messageId is the caller\'s; sendAt in Infobip\'s +0000 form schedules', async () => {
  const at = new Date(Date.now() + 3_600_000);
  const infobipAt = at.toISOString().replace('Z', '+0000');
  const response = await send(form([...BASE, ['to', 'sched@example.com'], ['messageId', 'my-message-1'], ['sendAt', infobipAt]]));
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as SendAnswer;
  assert.match(body.bulkId, /^ib-[0-9a-f]{24}$/);
  assert.equal(body.messages[0]!.messageId, 'my-message-1');
  const logs = (await (await fetch(`${app.url}/email/1/logs?messageId=my-message-1`, { headers: { authorization: `App ${app.key}` } })).json()) as { results: { messageId: string; bulkId: string; status: { name: string } }[] };
  assert.equal(logs.results.length, 1, 'the log finds the message by the caller\'s messageId');
  assert.equal(logs.results[0]!.bulkId, body.bulkId);
  const list = (await (await app.api('/emails?externalId=my-message-1')).json()) as { data: { status: string; sendAt: string }[] };
  assert.equal(list.data[0]!.status, 'SCHEDULED');
  assert.equal(list.data[0]!.sendAt, at.toISOString());
});

test('a recipient as Infobip JSON with placeholders fills {{name}} without a template', async () => {
  const response = await send(form([
    ['from', 'promo@elipackage.com'], ['subject', 'Hi {{name}}'], ['text', 'Your code is {{code}}.'],
    ['to', JSON.stringify({ to: 'json@example.com', placeholders: { name: 'Ana' } })],
    ['defaultPlaceholders', JSON.stringify({ code: '1234', name: 'nobody' })],
  ]));
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as SendAnswer;
  assert.equal(body.messages[0]!.to, 'json@example.com');
  const email = (await (await app.api(`/emails/${body.messages[0]!.messageId}`)).json()) as { data: { subject: string; text: string } };
  assert.equal(email.data.subject, 'Hi Ana', 'the recipient\'s placeholder wins over the default');
  assert.equal(email.data.text, 'Your code is 1234.');
});

test('bad fields are 400s in Infobip\'s envelope, naming the field', async () => {
  const cases: [string, [string, string][], RegExp][] = [
    ['unknown field', [...BASE, ['to', 'x@example.com'], ['colour', 'red']], /colour/],
    ['ampHtml refused', [...BASE, ['to', 'x@example.com'], ['html', '<p>x</p>'], ['ampHtml', '<html amp4email></html>']], /ampHtml is not supported/],
    ['bad boolean', [...BASE, ['to', 'x@example.com'], ['track', 'yes']], /track must be true or false/],
    ['no recipient', BASE, /to is required/],
    ['bad address', [...BASE, ['to', 'not an address']], /to/],
    ['subject twice', [...BASE, ['to', 'x@example.com'], ['subject', 'again']], /subject may be given once/],
    ['broken JSON recipient', [...BASE, ['to', '{"to": ']], /must be JSON/],
  ];
  for (const [what, fields, text] of cases) {
    const response = await send(form(fields));
    assert.equal(response.status, 400, `${what}: status`);
    const body = (await response.json()) as ServiceException;
    assert.equal(body.requestError?.serviceException?.messageId, 'BAD_REQUEST', `${what}: Infobip's envelope`);
    assert.match(body.requestError.serviceException.text + JSON.stringify(body.requestError.serviceException.validationErrors ?? {}), text, `${what}: names the problem`);
  }
});

test('a file in inlineImage is refused clearly; a wrong key is 401 in the envelope', async () => {
  const data = form([...BASE, ['to', 'x@example.com']]);
  data.append('inlineImage', new Blob([Buffer.from('GIF89a')], { type: 'image/gif' }), 'logo.gif');
  const refused = await send(data);
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as ServiceException).requestError.serviceException.text, /inline images are not supported/);

  const unauthorized = await send(form([...BASE, ['to', 'x@example.com']]), 'not-a-key');
  assert.equal(unauthorized.status, 401);
  assert.equal(((await unauthorized.json()) as ServiceException).requestError.serviceException.messageId, 'UNAUTHORIZED');
});

test('malformed multipart is a 400 (or 415 for another type), never a 500', async () => {
  const broken = [
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="to"\r\n\r\na@example.com\r\n--xy'],
    ['multipart/form-data; boundary=xyz', 'no boundary anywhere'],
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="bad name!"\r\n\r\nx\r\n--xyz--\r\n'],
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nx\r\n--xyz--\r\n'],
    ['multipart/form-data', '--xyz\r\n\r\n'],
  ];
  for (const [type, body] of broken) {
    const response = await send(body!, app.key, { 'content-type': type! });
    assert.equal(response.status, 400, `${JSON.stringify(body)}: ${await response.clone().text()}`);
    assert.equal(((await response.json()) as ServiceException).requestError.serviceException.messageId, 'BAD_REQUEST');
  }
  const json = await send(JSON.stringify({ to: 'a@example.com' }), app.key, { 'content-type': 'application/json' });
  assert.equal(json.status, 415, 'JSON is not the form Infobip takes');
  assert.ok(((await json.json()) as ServiceException).requestError, 'in the envelope');
  const urlencoded = await send('to=a%40example.com', app.key, { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(urlencoded.status, 415);
  assert.match(((await urlencoded.json()) as ServiceException).requestError.serviceException.text, /multipart\/form-data/, 'says which type to send');
});

test("another account's key sees none of this account's reports or logs", async () => {
  const response = await send(form([...BASE, ['to', 'mine@example.com'], ['bulkId', 'private-bulk']]));
  assert.equal(response.status, 200);
  const mine = (await response.json()) as SendAnswer;
  const messageId = mine.messages[0]!.messageId;
  await eventually(async () => {
    const logs = (await (await fetch(`${app.url}/email/1/logs?messageId=${messageId}`, { headers: { authorization: `App ${app.key}` } })).json()) as { results: { status: { groupName: string } }[] };
    return logs.results[0]?.status.groupName === 'DELIVERED';
  }, 15_000, 'delivery');
  const other = await otherAccountKey(app, 'infobip-other');
  for (const path of [`/email/1/logs?messageId=${messageId}`, '/email/1/logs?bulkId=private-bulk', '/email/1/logs', '/email/1/reports?bulkId=private-bulk', '/email/1/reports']) {
    const read = await fetch(`${app.url}${path}`, { headers: { authorization: `App ${other}` } });
    assert.equal(read.status, 200, path);
    assert.deepEqual(((await read.json()) as { results: unknown[] }).results, [], `${path}: nothing of the other account`);
  }
  // The owner's report is still there, once.
  const own = (await (await fetch(`${app.url}/email/1/reports?bulkId=private-bulk`, { headers: { authorization: `App ${app.key}` } })).json()) as { results: { messageId: string; status: { name: string } }[] };
  assert.deepEqual(own.results.map((report) => [report.messageId, report.status.name]), [[messageId, 'DELIVERED_TO_HANDSET']]);
  const again = (await (await fetch(`${app.url}/email/1/reports?bulkId=private-bulk`, { headers: { authorization: `App ${app.key}` } })).json()) as { results: unknown[] };
  assert.deepEqual(again.results, [], 'a fetched report is not returned again');
});

test("a refusal names the field as Infobip's caller named it", async () => {
  const response = await send(form([...BASE, ['to', 'x@example.com'], ['bulkId', 'ok-bulk'], ['messageId', 'fine'], ['callbackData', 'two\nlines']]));
  assert.equal(response.status, 400);
  const body = (await response.json()) as ServiceException;
  assert.ok(body.requestError.serviceException.validationErrors?.callbackData, `callbackData named: ${JSON.stringify(body)}`);
});

test('templateId names a Mailroom template; each recipient\'s placeholders fill it', async () => {
  const created = await app.api('/templates', { method: 'POST', json: { name: 'ib-welcome', subject: 'Welcome {{name}}', text: 'Hello {{name}} from {{team}}' } });
  assert.equal(created.status, 201, await created.clone().text());
  const response = await send(form([
    ['from', 'promo@elipackage.com'], ['templateId', 'ib-welcome'], ['defaultPlaceholders', JSON.stringify({ team: 'EliPackage' })],
    ['to', JSON.stringify({ to: 't1@example.com', placeholders: { name: 'Tia' } })],
    ['to', JSON.stringify({ to: 't2@example.com', placeholders: { name: 'Tom' } })],
  ]));
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as SendAnswer;
  const subjects = [];
  for (const message of body.messages) {
    const email = (await (await app.api(`/emails/${message.messageId}`)).json()) as { data: { subject: string; text: string } };
    subjects.push(`${email.data.subject} / ${email.data.text}`);
  }
  assert.deepEqual(subjects, ['Welcome Tia / Hello Tia from EliPackage', 'Welcome Tom / Hello Tom from EliPackage']);
  const missing = await send(form([['from', 'promo@elipackage.com'], ['templateId', 'no-such-template'], ['to', 'x@example.com']]));
  assert.equal(missing.status, 400, 'an unknown template is Infobip\'s 400');
  assert.match(((await missing.json()) as ServiceException).requestError.serviceException.text, /no template/);
});
