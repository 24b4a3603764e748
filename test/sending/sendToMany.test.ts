import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf } from '../helpers/database.js';

/**
 * Issue 19: POST /emails takes `to` as an array of up to 50 addresses (one message each, as a
 * message with several RCPT TO over SMTP), and `html` without `text`, as other Email APIs do.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

interface Data { id: string; to: string; status: string; text: string; reason?: string }
interface ErrorBody { error: { code: string; details: { field: string; message: string }[] } }

const base = { from: SEED_REQUEST.from, subject: 'Hello', text: 'One message each' };

async function send(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await app.api('/emails', { method: 'POST', json: body, headers });
  return { status: response.status, body: await response.json() };
}

async function caughtRaw(emailId: string): Promise<string> {
  return eventually(async () => {
    const response = await app.api(`/sandbox/messages/${emailId}`);
    return response.status === 200 ? ((await response.json()) as { data: { raw: string } }).data.raw : undefined;
  }, 15_000, `the sandbox to catch ${emailId}`);
}

test('to as an array: one message per address, answered in its order, each delivered with only its own address', async () => {
  const to = ['ann@example.com', 'Bob <bob@example.org>', 'cy@example.net'];
  const { status, body } = await send({ ...base, to, externalId: 'many-1' });
  assert.equal(status, 200, JSON.stringify(body));
  const data = (body as { data: Data[] }).data;
  assert.ok(Array.isArray(data), 'data is an array when to is one');
  assert.deepEqual(data.map((entry) => entry.to), to);
  assert.equal(new Set(data.map((entry) => entry.id)).size, 3, 'three messages, three ids');
  for (const entry of data) {
    const raw = await caughtRaw(entry.id);
    const toHeader = /^To: (.*)$/m.exec(raw)?.[1] ?? '';
    assert.ok(toHeader.includes(entry.to.replace(/^.*</, '').replace('>', '')), `the To header of ${entry.id} is its own address: ${toHeader}`);
    assert.equal(to.filter((address) => raw.includes(address.replace(/^.*</, '').replace('>', ''))).length, 1, 'no other recipient appears in it');
  }
  const listed = (await (await app.api('/emails?externalId=many-1')).json()) as { data: Data[] };
  assert.equal(listed.data.length, 3);
});

test('one bad address in the array refuses the whole request, naming the element, and stores nothing', async () => {
  const before = await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');
  const cases: [unknown, string, RegExp][] = [
    [['ok@example.com', 'not an address'], 'to[1]', /./],
    [['ok@example.com', 'OK@example.com'], 'to[1]', /repeats to\[0\]/],
    [['ok@example.com', 42], 'to[1]', /must be a string/],
    [[], 'to', /1 to 50/],
    [Array.from({ length: 51 }, (_, index) => `r${index}@example.com`), 'to', /1 to 50/],
  ];
  for (const [to, field, message] of cases) {
    const { status, body } = await send({ ...base, to });
    assert.equal(status, 400, `to ${JSON.stringify(to).slice(0, 60)}: ${JSON.stringify(body)}`);
    const detail = (body as ErrorBody).error.details.find((entry) => entry.field === field);
    assert.ok(detail, `a detail names ${field}: ${JSON.stringify(body)}`);
    assert.match(detail.message, message);
  }
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages'), before, 'nothing stored');
});

test('fifty addresses are taken; a replay with the same Idempotency-Key answers the same ids', async () => {
  const to = Array.from({ length: 50 }, (_, index) => `fifty${index}@example.com`);
  const first = await send({ ...base, to }, { 'idempotency-key': 'to-array-fifty' });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const again = await send({ ...base, to }, { 'idempotency-key': 'to-array-fifty' });
  assert.equal(again.status, 200);
  const ids = (result: { body: unknown }) => (result.body as { data: Data[] }).data.map((entry) => entry.id);
  assert.equal(ids(first).length, 50);
  assert.deepEqual(ids(again), ids(first));
  assert.equal(await countOf(app.mailroom.db, "SELECT count(*) AS n FROM messages WHERE to_address LIKE 'fifty%'"), 50, 'stored once');
});

test('a suppressed address in the array is REJECTED on its own; the others are sent', async () => {
  assert.equal((await app.api('/suppressions', { method: 'POST', json: { address: 'gone@example.com' } })).status < 300, true);
  const { status, body } = await send({ ...base, to: ['here@example.com', 'gone@example.com'] });
  assert.equal(status, 200, JSON.stringify(body));
  const data = (body as { data: Data[] }).data;
  assert.deepEqual(data.map((entry) => entry.status), ['QUEUED', 'REJECTED']);
});

test('html without text: accepted, the text part derived from the HTML', async () => {
  const { status, body } = await send({ to: 'html.only@example.com', from: base.from, subject: 'HTML only', html: '<h1>Spring sale</h1><p>Forty <b>percent</b> off.</p>' });
  assert.equal(status, 200, JSON.stringify(body));
  const data = (body as { data: Data }).data;
  assert.match(data.text, /SPRING SALE[\s\S]*Forty percent off\./i);
  const raw = await caughtRaw(data.id);
  assert.match(raw, /Content-Type: multipart\/alternative/i);
  assert.match(raw, /Content-Type: text\/plain/i);
  assert.match(raw, /Content-Type: text\/html/i);

  const neither = await send({ to: 'html.only@example.com', from: base.from, subject: 'Nothing' });
  assert.equal(neither.status, 400);
  assert.ok((neither.body as ErrorBody).error.details.some((detail) => detail.field === 'text'), 'without text or html, text is required');
  const imageOnly = await send({ to: 'html.only@example.com', from: base.from, subject: 'Image', html: '<img src="https://example.com/a.png">' });
  assert.equal(imageOnly.status, 400, 'HTML with no text to derive: text is required');
});

test("the seed's single-address request still answers one object", async () => {
  const { status, body } = await send(SEED_REQUEST);
  assert.equal(status, 200);
  assert.ok(!Array.isArray((body as { data: Data }).data));
});
