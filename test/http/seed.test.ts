import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

test("the seed's request, sent as it stands, gets the seed's response shape", async () => {
  const response = await app.api('/emails?unsubscribeMsg=Unsubscribe%20here', { method: 'POST', json: SEED_REQUEST });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { meta: Record<string, unknown>; data: Record<string, unknown> };
  assert.deepEqual(Object.keys(body.meta).sort(), ['timestamp', 'transactionId']);
  assert.equal(typeof body.meta.timestamp, 'number');
  assert.ok(Math.abs((body.meta.timestamp as number) - Date.now()) < 60_000);
  assert.equal(typeof body.meta.transactionId, 'string');
  assert.deepEqual(Object.keys(body.data).sort(), [
    'alias', 'callbacks', 'clientId', 'externalId', 'from', 'id', 'operator', 'status', 'subject', 'text', 'to', 'userName',
  ]);
  const { id, ...rest } = body.data;
  assert.match(String(id), /^[0-9a-z]{22}$/);
  assert.deepEqual(rest, {
    to: SEED_REQUEST.to,
    from: SEED_REQUEST.from,
    userName: 'default',
    operator: 'default',
    text: SEED_REQUEST.text,
    status: 'QUEUED',
    subject: SEED_REQUEST.subject,
    externalId: SEED_REQUEST.externalId,
    clientId: SEED_REQUEST.clientId,
    callbacks: SEED_REQUEST.callbacks,
    alias: SEED_REQUEST.alias,
  });

  // The stored message reads back the same, and the sandbox delivers it.
  const stored = await eventually(async () => {
    const read = (await (await app.api(`/emails/${id}`)).json()) as { data: { status: string } };
    return read.data.status === 'DELIVERED' ? read.data : undefined;
  }, 15_000, 'delivery to the sandbox');
  assert.equal((stored as unknown as { externalId: string }).externalId, SEED_REQUEST.externalId);

  const events = (await (await app.api(`/emails/${id}/events`)).json()) as { data: { type: string; messageId: string; externalId: string }[] };
  assert.deepEqual(events.data.map((event) => event.type), ['QUEUED', 'DELIVERED']);
  assert.ok(events.data.every((event) => event.messageId === id && event.externalId === SEED_REQUEST.externalId));

  const caught = (await (await app.api('/sandbox/messages')).json()) as { data: { id: number; messageId: string }[] };
  const entry = caught.data.find((item) => item.messageId === id);
  assert.ok(entry, 'the sandbox caught the message');
  const full = (await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } };
  assert.match(full.data.raw, /^Subject: EliPackage Promo\r$/m);
  assert.match(full.data.raw, /^Message-ID: <[0-9a-z]+@elipackage\.com>\r$/m);
  assert.match(full.data.raw, /we have a new offer this week/);
});

test('HTML in text is detected: the message carries HTML and a derived plain-text part', async () => {
  const response = await app.api('/emails', {
    method: 'POST',
    json: { ...SEED_REQUEST, text: '<html><body><h1>Offer</h1><p>Buy <a href="https://shop.example/x">now</a> &amp; save</p></body></html>' },
  });
  assert.equal(response.status, 200);
  const { data } = (await response.json()) as { data: { id: string } };
  const raw = await eventually(async () => {
    const list = (await (await app.api('/sandbox/messages')).json()) as { data: { id: number; messageId: string }[] };
    const entry = list.data.find((item) => item.messageId === data.id);
    if (!entry) return undefined;
    return ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
  });
  assert.match(raw, /Content-Type: multipart\/alternative/);
  assert.match(raw, /Content-Type: text\/plain/);
  assert.match(raw, /Content-Type: text\/html/);
  assert.match(raw, /OFFER/); // html-to-text renders headings in capitals in the plain part
});
