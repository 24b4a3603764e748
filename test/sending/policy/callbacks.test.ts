import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../../helpers/dnsServer.js';
import { prepareStore } from '../../helpers/process.js';

/**
 * Per-message callbacks (the `callbacks` field, X-Mailroom-Callbacks over SMTP) are held to the
 * webhooks' SSRF rule when the message is submitted: a literal non-public address, or a name that
 * resolves to one, refuses the message (400 VALIDATION_ERROR naming callbacks[i]; 550 5.7.1 over
 * SMTP), unless MAILROOM_ALLOW_PRIVATE_CALLBACKS=1. Names are resolved through a DNS server this
 * file starts; a name is looked up once for a whole bulk, and again by the dispatcher when it
 * connects.
 */
let dns: TestDnsServer;
let store: TestStore;
let app: TestApp;
let submission: { host: string; port: number };

before(async () => {
  dns = await startDnsServer({
    'hooks.example.com': { A: ['93.184.216.34'] },
    'hooks6.example.com': { AAAA: ['2606:4700:4700::1111'] },
    'bulk.example.com': { A: ['93.184.216.35'] },
    'loop.example.com': { A: ['127.0.0.1'] },
    'inside.example.com': { A: ['10.20.30.40'] },
    'v6loop.example.com': { AAAA: ['::1'] },
    'mixed.example.com': { A: ['93.184.216.34', '192.168.1.20'] },
    'compat.example.com': { AAAA: ['::127.0.0.1'] },
    'broken.example.com': { rcode: 'SERVFAIL' },
    'late.example.com': { rcode: 'SERVFAIL' },
  });
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({
    MAILROOM_ROLES: 'api,smtp',
    MAILROOM_SMTP_PORT: '0',
    MAILROOM_SMTPS_PORT: '0',
    MAILROOM_SMTP_INSECURE_AUTH: '1',
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_ALLOW_PRIVATE_CALLBACKS: '0',
  }, { store });
  const address = app.mailroom.smtp!.submission;
  submission = { host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) };
});
after(async () => {
  await app.stop();
  await store.dispose();
  await dns.close();
});

const stored = () => countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');

type Answer = { data?: { id: string; callbacks: string[] }; warnings?: { field: string; message: string }[]; error?: { code: string; message: string; details: { field: string; message: string }[] } };

async function post(callbacks: string[], to: TestApp = app): Promise<{ status: number; json: Answer }> {
  const response = await to.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks } });
  return { status: response.status, json: (await response.json()) as Answer };
}

const PRIVATE_CALLBACKS = [
  'http://loop.example.com/cb',
  'https://inside.example.com/status',
  'http://v6loop.example.com:8080/',
  'http://mixed.example.com/',
  'http://compat.example.com/',
  'http://127.0.0.1:9/',
  'http://10.1.2.3/cb',
  'http://169.254.169.254/latest/meta-data',
  'http://[::1]/',
  'http://[::127.0.0.1]/',
  'http://[::ffff:10.0.0.1]/',
  'http://2130706433/',
  'http://0x7f.1/',
  'http://localhost:3000/',
  'http://192.168.0.1/',
  'http://[fd00::1]/',
];

test('a callback to a private address, literal or by name, is refused at submission, naming callbacks[i] and the setting', async () => {
  const before = await stored();
  for (const target of PRIVATE_CALLBACKS) {
    const { status, json } = await post(['https://hooks.example.com/ok', target]);
    assert.equal(status, 400, `${target}: ${JSON.stringify(json)}`);
    assert.equal(json.error?.code, 'VALIDATION_ERROR', target);
    assert.deepEqual(json.error.details.map((detail) => detail.field), ['callbacks[1]'], target);
    assert.match(json.error.details[0]!.message, /(not a public address|loopback name).*MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/, target);
    assert.match(json.error.message, /MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/, target);
  }
  assert.equal(await stored(), before, 'nothing refused is stored');
});

test('public callbacks are accepted: literal addresses, names with public addresses; a DNS failure or a non-URL does not refuse', async () => {
  const callbacks = ['https://hooks.example.com/cb', 'http://hooks6.example.com/', 'http://93.184.216.34:8080/x', 'http://[2606:4700:4700::1111]/', 'https://broken.example.com/', 'https://nowhere.example.com/', 'string'];
  const { status, json } = await post(callbacks);
  assert.equal(status, 200, JSON.stringify(json));
  assert.deepEqual(json.data?.callbacks, callbacks);
  assert.deepEqual(json.warnings?.map((warning) => warning.field), ['callbacks[6]'], 'only the non-URL is warned about');
});

test('SMTP: X-Mailroom-Callbacks to a private address is answered 550 5.7.1 and stores nothing; a public one is queued', async () => {
  const transport = nodemailer.createTransport({ ...submission, secure: false, ignoreTLS: true, auth: { user: 'apikey', pass: app.key } });
  const before = await stored();
  for (const target of ['http://loop.example.com/cb', 'http://[::ffff:127.0.0.1]/', 'http://inside.example.com/']) {
    const error = await transport.sendMail({
      from: 'promo@elipackage.com', to: 'john@example.com', subject: 'callback', text: 'hello',
      headers: { 'X-Mailroom-Callbacks': `https://hooks.example.com/a, ${target}` },
    }).then(() => null, (failure: Error & { responseCode?: number; response?: string }) => failure);
    assert.ok(error, `${target} refused`);
    assert.equal(error.responseCode, 550, error.response);
    assert.match(error.response!, /^550 5\.7\.1 .*X-Mailroom-Callbacks\[1\].*MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/, target);
  }
  assert.equal(await stored(), before);
  const info = await transport.sendMail({
    from: 'promo@elipackage.com', to: 'john@example.com', subject: 'callback', text: 'hello',
    headers: { 'X-Mailroom-Callbacks': 'https://hooks.example.com/a' },
  });
  assert.match(info.response, /^250 2\.0\.0 Ok: queued as/);
  transport.close();
});

describe('when the dispatcher connects', () => {
  let worker: TestApp;
  before(async () => {
    worker = await startTestApp({ MAILROOM_ROLES: 'api,worker', MAILROOM_DNS_SERVERS: dns.address, MAILROOM_ALLOW_PRIVATE_CALLBACKS: '0' });
  });
  after(async () => {
    await worker.stop();
  });

  test('a name is checked again when the dispatcher connects: one that resolves to loopback by then is never called', async () => {
    // SERVFAIL at submission: the message is accepted (the look-up failed, it did not find a private address).
    const { status, json } = await post(['http://late.example.com:9/cb'], worker);
    assert.equal(status, 200, JSON.stringify(json));
    dns.zone['late.example.com'] = { A: ['127.0.0.1'] };
    const attempts = await eventually(async () => {
      const list = ((await (await worker.api(`/emails/${json.data!.id}/callbacks`)).json()) as { data: { error: string | null; deliveryStatus: string }[] }).data;
      return list.find((attempt) => /127\.0\.0\.1, which is not a public address/.test(attempt.error ?? '')) ? list : undefined;
    }, 20_000, 'the refused attempt');
    assert.ok(attempts.every((attempt) => attempt.deliveryStatus !== 'delivered'));
  });
});

describe('bulk, on a process without a dispatcher (which would look the host up too)', () => {
  let api: TestApp;
  before(async () => {
    api = await startTestApp({ MAILROOM_ROLES: 'api', MAILROOM_DNS_SERVERS: dns.address, MAILROOM_ALLOW_PRIVATE_CALLBACKS: '0' });
  });
  after(async () => {
    await api.stop();
  });

  test('bulk: each message is judged on its own, and 1,000 messages with one callback host cost one look-up', async () => {
    const asked = () => dns.queries.filter((query) => query.endsWith(' bulk.example.com')).length;
    const messages = Array.from({ length: 1000 }, (_, index) => ({ ...SEED_REQUEST, to: `reader${index}@example.com`, callbacks: [`https://bulk.example.com/cb/${index}`] }));
    messages[3] = { ...messages[3]!, callbacks: ['https://bulk.example.com/ok', 'http://inside.example.com/'] };
    const response = await api.api('/emails/bulk', { method: 'POST', json: { messages } });
    assert.equal(response.status, 200);
    const { data: results } = (await response.json()) as { data: Answer[] };
    assert.equal(results.filter((result) => result.data).length, 999);
    assert.equal(results[3]!.error?.code, 'VALIDATION_ERROR');
    assert.deepEqual(results[3]!.error.details.map((detail) => detail.field), ['callbacks[1]']);
    assert.equal(asked(), 2, 'one A and one AAAA question for the whole bulk');
  });
});

describe('with MAILROOM_ALLOW_PRIVATE_CALLBACKS=1', () => {
  let open: TestApp;
  before(async () => {
    open = await startTestApp({ MAILROOM_ROLES: 'api', MAILROOM_DNS_SERVERS: dns.address, MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
  });
  after(async () => {
    await open.stop();
  });

  test('private callbacks are accepted without a look-up', async () => {
    const asked = () => dns.queries.filter((query) => query.endsWith(' loop.example.com')).length;
    const before = asked();
    const response = await open.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: ['http://loop.example.com/cb', 'http://127.0.0.1:9/', 'http://[::1]/'] } });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(asked(), before);
  });
});
