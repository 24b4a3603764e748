import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AuthenticationError, itemsOf, Mailroom, MailroomError, NotFoundError, ValidationError } from '../../packages/sdk/src/index.js';
import { SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';

/** The SDK against a real Mailroom: the calls, the envelopes they return, the errors they throw. */

let app: TestApp;
let mailroom: Mailroom;
before(async () => {
  app = await startTestApp({ MAILROOM_TRANSPORT: 'sandbox' });
  mailroom = new Mailroom({ apiKey: app.key, baseUrl: app.url });
});
after(() => app.stop());

/** The GET routes declare no response schema yet: what these tests read of their answers. */
interface EmailView {
  id: string;
  status: string;
  clientId: string | null;
}

test('send, then get the same email', async () => {
  const sent = await mailroom.emails.send({ ...SEED_REQUEST, externalId: 'sdk-send' });
  assert.match(sent.data.id, /\S/, 'send answers the new id');
  assert.equal(sent.data.externalId, 'sdk-send');
  const got = (await mailroom.emails.get(sent.data.id)) as { data: EmailView };
  assert.equal(got.data.id, sent.data.id, 'get answers the email sent');
  assert.ok(['QUEUED', 'SENT', 'DELIVERED'].includes(got.data.status), `status ${got.data.status}`);
});

test('send to several addresses: data is typed and answered as one message per address', async () => {
  const sent = await mailroom.emails.send({ ...SEED_REQUEST, to: ['sdk.one@example.com', 'sdk.two@example.com'] });
  assert.deepEqual(sent.data.map((message) => message.to), ['sdk.one@example.com', 'sdk.two@example.com']);
  assert.notEqual(sent.data[0]?.id, sent.data[1]?.id);
});

test('list with pagination: every page followed, every email once', async () => {
  const ids = new Set<string>();
  for (let index = 0; index < 5; index++) ids.add((await mailroom.emails.send({ ...SEED_REQUEST, clientId: 'sdk-pages' })).data.id);
  const pages = [];
  for await (const page of mailroom.emails.listPages({ clientId: 'sdk-pages', limit: 2 })) pages.push(page as { data: EmailView[] });
  assert.equal(pages.length, 3, 'five emails two a page are three pages');
  const listed = pages.flatMap((page) => page.data.map((email) => email.id));
  assert.deepEqual(new Set(listed), ids, 'each email listed');
  assert.equal(listed.length, 5, 'none twice');

  const items: EmailView[] = [];
  for await (const item of itemsOf<EmailView>(mailroom.emails.listPages({ clientId: 'sdk-pages', limit: 4 }))) items.push(item);
  assert.equal(items.length, 5, 'itemsOf flattens the pages');
});

test('templates are paginated through meta.pagination like every list', async () => {
  for (const name of ['sdk-a', 'sdk-b', 'sdk-c']) {
    await mailroom.templates.create({ name, subject: 'Hello {{name}}', text: 'Hi {{name}}' });
  }
  const pages = [];
  for await (const page of mailroom.templates.listPages({ limit: 2 })) pages.push(page);
  assert.ok(pages.length >= 2, `${pages.length} pages of templates`);
  assert.ok(pages[0]!.meta.pagination.nextCursor, 'the first page of templates has a next cursor');
  const names = pages.flatMap((page) => page.data.map((template) => template.name));
  assert.deepEqual(names.filter((name) => name.startsWith('sdk-')).sort(), ['sdk-a', 'sdk-b', 'sdk-c']);
});

test('a validation error is a ValidationError with its code, details and transaction id', async () => {
  const error = await mailroom.emails.send({ ...SEED_REQUEST, to: 'not an address' }).catch((caught: unknown) => caught);
  assert.ok(error instanceof ValidationError, `a ValidationError, not ${String(error)}`);
  assert.ok(error instanceof MailroomError, 'and a MailroomError');
  assert.equal(error.kind, 'validation');
  assert.equal(error.status, 400);
  assert.equal(error.code, 'VALIDATION_ERROR');
  assert.ok(error.details.some((detail) => detail.field === 'to'), `details name "to": ${JSON.stringify(error.details)}`);
  assert.match(error.transactionId ?? '', /\S/, 'the transaction id is kept');
});

test('not found and a wrong key are typed too', async () => {
  const missing = await mailroom.emails.get('does-not-exist').catch((caught: unknown) => caught);
  assert.ok(missing instanceof NotFoundError, `a NotFoundError, not ${String(missing)}`);
  assert.equal(missing.code, 'NOT_FOUND');

  const stranger = new Mailroom({ apiKey: 'mr_wrong_key_0000000000000000000000', baseUrl: app.url });
  const denied = await stranger.emails.list().catch((caught: unknown) => caught);
  assert.ok(denied instanceof AuthenticationError, `an AuthenticationError, not ${String(denied)}`);
  assert.equal(denied.status, 401);
});

test('the base URL may end with a slash; path parameters are encoded', async () => {
  const urls: string[] = [];
  const recording: typeof fetch = (input, init) => {
    urls.push(String(input));
    return fetch(input, init);
  };
  const slashed = new Mailroom({ apiKey: app.key, baseUrl: `${app.url}/`, fetch: recording });
  const missing = await slashed.suppressions.get('a/b@example.com').catch((caught: unknown) => caught);
  assert.deepEqual(urls, [`${app.url}/suppressions/a%2Fb%40example.com`], 'one slash after the base, the address encoded');
  assert.ok(missing instanceof NotFoundError, `a NotFoundError for an address never suppressed, not ${String(missing)}`);
});

test('the event stream answers its Response (it never ends), and CSV answers text', async () => {
  const stream = await mailroom.events.getStream();
  assert.ok(stream instanceof Response, 'the stream as a Response to read');
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
  await stream.body?.cancel();
  const csv = await mailroom.suppressions.exportCsv();
  assert.equal(typeof csv, 'string', 'CSV as text');
  assert.match(String(csv), /address/i, 'with its header row');
});
