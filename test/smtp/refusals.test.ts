import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createKey } from '../../src/accounts/apiKeys.js';
import { createAccount, setAccountStatus } from '../../src/accounts/accounts.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, sealerOf, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';
import { plainToken, SmtpClient, type Reply } from '../helpers/smtpClient.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

/**
 * Every refusal of the SMTP door, with its reply code and enhanced status code, and the limits
 * (recipients, size, line length, connections per address, idle time, failed logins). Nothing
 * refused may be stored. Per-address limits are exercised from other loopback addresses
 * (127.0.0.x), so that they do not lock out the rest of the file.
 */
let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let app: TestApp;
let suspendedKey: string;

const MAX_RECIPIENTS = 5;
const MAX_CONNECTIONS = 3;
const AUTH_FAILURES = 3;

before(async () => {
  sink = await startSmtpSink();
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  const db = await store.open();
  try {
    await createAccount(db, sealerOf(store), 'suspended-co');
    suspendedKey = (await createKey(db, { accountName: 'suspended-co' })).key;
    await setAccountStatus(db, 'suspended-co', 'suspended');
  } finally {
    await db.close();
  }
  app = await startTestApp(
    {
      MAILROOM_ROLES: 'api,smtp',
      MAILROOM_SMTP_PORT: '0',
      MAILROOM_SMTPS_PORT: '0',
      // A real transport, so that senders must be verified (the sandbox accepts any).
      MAILROOM_TRANSPORT: 'relay',
      MAILROOM_RELAY_URL: `smtp://127.0.0.1:${sink.port}?starttls=off`,
      MAILROOM_SMTP_MAX_RECIPIENTS: String(MAX_RECIPIENTS),
      MAILROOM_SMTP_MAX_CONNECTIONS_PER_IP: String(MAX_CONNECTIONS),
      MAILROOM_SMTP_AUTH_FAILURES: String(AUTH_FAILURES),
      MAILROOM_SMTP_IDLE_SECONDS: '2',
    },
    { store },
  );
  // 127.0.0.9 may submit without AUTH.
  const response = await app.api('/smtp-credentials', { method: 'POST', json: { type: 'ip', address: '127.0.0.9' } });
  assert.equal(response.status, 201);
});
after(async () => {
  await app.stop();
  await store.dispose();
  await sink.close();
});

const messages = () => countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');

/** A connection past STARTTLS and AUTH PLAIN with `key`, from `localAddress`. */
async function session(options: { key?: string | null; localAddress?: string } = {}): Promise<SmtpClient> {
  const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission, { localAddress: options.localAddress });
  await client.command('EHLO client.example');
  if (options.key === null) return client;
  assert.equal((await client.startTls()).code, 220);
  await client.command('EHLO client.example');
  const auth = await client.command(`AUTH PLAIN ${plainToken('apikey', options.key ?? app.key)}`);
  assert.equal(auth.code, 235, auth.text);
  return client;
}

function assertReply(reply: Reply | null, code: number, enhanced: string, text?: RegExp): void {
  assert.ok(reply, 'a reply');
  assert.equal(reply.code, code, reply.text);
  assert.equal(reply.enhanced, enhanced, reply.text);
  assert.equal(reply.text.match(/\d\.\d{1,3}\.\d{1,3}/g)?.length, 1, `one enhanced code: ${reply.text}`);
  if (text) assert.match(reply.text, text);
}

const MESSAGE = 'From: promo@elipackage.com\r\nTo: john@example.com\r\nSubject: hi\r\n\r\nhello\r\n';

test('an unverified sender is refused at MAIL FROM and in the From header (550 5.7.1); nothing is stored', async () => {
  const before = await messages();
  const client = await session();
  assertReply(await client.command('MAIL FROM:<someone@unverified.example>'), 550, '5.7.1', /not verified/);
  assert.equal((await client.command('MAIL FROM:<promo@elipackage.com>')).code, 250);
  assert.equal((await client.command('RCPT TO:<john@example.com>')).code, 250);
  const { end } = await client.data(MESSAGE.replace('From: promo@elipackage.com', 'From: Spoof <ceo@unverified.example>'));
  assertReply(end, 550, '5.7.1', /ceo@unverified\.example is not verified/);
  assert.equal((await client.command('NOOP')).code, 250, 'the connection stays usable');
  client.close();
  assert.equal(await messages(), before);
});

test('a suspended account is refused at MAIL FROM (550 5.7.1)', async () => {
  const client = await session({ key: suspendedKey });
  assertReply(await client.command('MAIL FROM:<promo@elipackage.com>'), 550, '5.7.1', /suspended/);
  client.close();
});

test('without AUTH or an IP credential, MAIL FROM answers 530 5.7.0; from an IP credential\'s address it is accepted and stored', async () => {
  const anonymous = await session({ key: null, localAddress: '127.0.0.8' });
  assertReply(await anonymous.command('MAIL FROM:<promo@elipackage.com>'), 530, '5.7.0', /Authentication required/);
  anonymous.close();

  const before = await messages();
  const trusted = await session({ key: null, localAddress: '127.0.0.9' });
  assert.equal((await trusted.command('MAIL FROM:<promo@elipackage.com>')).code, 250);
  assert.equal((await trusted.command('RCPT TO:<john@example.com>')).code, 250);
  const { end } = await trusted.data(MESSAGE);
  assertReply(end, 250, '2.0.0', /queued as/);
  trusted.close();
  assert.equal(await messages(), before + 1);
});

test('bad sequences answer 503 5.5.1', async () => {
  const client = await session();
  assertReply(await client.command('RCPT TO:<john@example.com>'), 503, '5.5.1');
  assertReply(await client.command('DATA'), 503, '5.5.1');
  assert.equal((await client.command('MAIL FROM:<promo@elipackage.com>')).code, 250);
  assertReply(await client.command('MAIL FROM:<promo@elipackage.com>'), 503, '5.5.1');
  assertReply(await client.command('DATA'), 503, '5.5.1');
  client.close();
});

test(`more than ${MAX_RECIPIENTS} recipients: the next RCPT answers 452 4.5.3, the message goes to those accepted`, async () => {
  const client = await session();
  await client.command('MAIL FROM:<promo@elipackage.com>');
  for (let i = 0; i < MAX_RECIPIENTS; i++) assert.equal((await client.command(`RCPT TO:<r${i}@example.com>`)).code, 250);
  assertReply(await client.command('RCPT TO:<one.too.many@example.com>'), 452, '4.5.3');
  const { end } = await client.data(MESSAGE);
  assert.equal(end!.code, 250);
  assert.equal(end!.text.split('queued as ')[1]!.split(' ').length, MAX_RECIPIENTS);
  client.close();
});

test('size: EHLO announces SIZE 10485760; a larger SIZE= or a larger message is refused with 552 5.3.4 and not stored', async () => {
  const before = await messages();
  const client = await session();
  assertReply(await client.command('MAIL FROM:<promo@elipackage.com> SIZE=20000000'), 552, '5.3.4');
  assert.equal((await client.command('MAIL FROM:<promo@elipackage.com>')).code, 250);
  await client.command('RCPT TO:<john@example.com>');
  const line = `${'x'.repeat(76)}\r\n`;
  const { end } = await client.data(MESSAGE + line.repeat(Math.ceil((10.5 * 1024 * 1024) / line.length)), 30_000);
  assertReply(end, 552, '5.3.4');
  assert.equal((await client.command('NOOP')).code, 250);
  client.close();
  assert.equal(await messages(), before);
});

test('content refusals answer 550 5.6.0 and store nothing: a line over 998 octets, no From, a broken header, a bad Mailroom header', async () => {
  const before = await messages();
  const client = await session();
  const cases: [string, RegExp][] = [
    [`${MESSAGE}${'y'.repeat(999)}\r\n`, /line of 999 octets/],
    ['To: john@example.com\r\nSubject: no from\r\n\r\nbody\r\n', /no From/],
    ['From: promo@elipackage.com\r\nthis is not a header\r\n\r\nbody\r\n', /not a header field/],
    ['From: a@elipackage.com, b@elipackage.com\r\n\r\nbody\r\n', /single address/],
    [`X-Mailroom-Track: sometimes\r\n${MESSAGE}`, /X-Mailroom-Track/],
    [`X-Mailroom-External-Id: has spaces\r\n${MESSAGE}`, /X-Mailroom-External-Id/],
    [`X-Mailroom-Colour: blue\r\n${MESSAGE}`, /not a Mailroom header/],
    [`X-Mailroom-Callbacks: ftp://example.com/x\r\n${MESSAGE}`, /X-Mailroom-Callbacks/],
  ];
  for (const [message, why] of cases) {
    assert.equal((await client.command('MAIL FROM:<promo@elipackage.com>')).code, 250);
    assert.equal((await client.command('RCPT TO:<john@example.com>')).code, 250);
    const { end } = await client.data(message);
    assertReply(end, 550, '5.6.0', why);
  }
  client.close();
  assert.equal(await messages(), before);
});

test('a suppressed recipient is refused at RCPT (550 5.7.1) and the others of the transaction are taken', async () => {
  const added = await app.api('/suppressions', { method: 'POST', json: { address: 'gone@example.com', reason: 'UNSUBSCRIBE' } });
  assert.equal(added.status, 201, await added.clone().text());
  const before = await messages();
  const client = await session();
  assert.equal((await client.command('MAIL FROM:<promo@elipackage.com>')).code, 250);
  assertReply(await client.command('RCPT TO:<Gone@Example.com>'), 550, '5.7.1', /suppression list \(UNSUBSCRIBE/);
  assert.equal((await client.command('RCPT TO:<john@example.com>')).code, 250);
  const { end } = await client.data(MESSAGE);
  assertReply(end, 250, '2.0.0', /queued as/);
  client.close();
  assert.equal(await messages(), before + 1);
});

test('a malformed recipient is refused at RCPT with 5xx', async () => {
  const client = await session();
  await client.command('MAIL FROM:<promo@elipackage.com>');
  for (const address of ['<john@localhost>', '<john@-bad-.com>', '<@example.com>']) {
    const reply = await client.command(`RCPT TO:${address}`);
    assert.ok(reply.code >= 500 && reply.code < 600, `${address}: ${reply.text}`);
  }
  client.close();
});

test(`failed logins: 535 5.7.8, and after ${AUTH_FAILURES} failures the address is locked out, even with the right key, successes between notwithstanding; other addresses are not`, async () => {
  const attempt = async (localAddress: string, key: string) => {
    const client = await session({ key: null, localAddress });
    await client.startTls();
    await client.command('EHLO client.example');
    const reply = await client.command(`AUTH PLAIN ${plainToken('apikey', key)}`);
    client.close();
    return reply;
  };
  // A good login between the guesses does not reset the count (or one working credential would
  // let a client guess another's password forever).
  for (let i = 0; i < AUTH_FAILURES; i++) {
    assertReply(await attempt('127.0.0.5', 'mr_wrong_key'), 535, '5.7.8', /credentials invalid/);
    if (i === 0) assert.equal((await attempt('127.0.0.5', app.key)).code, 235);
  }
  assertReply(await attempt('127.0.0.5', app.key), 535, '5.7.8', /Too many failed logins/);
  assert.equal((await attempt('127.0.0.6', app.key)).code, 235);
});

test(`connections per address: the ${MAX_CONNECTIONS + 1}th at once is refused with 421 4.7.0; closing one lets the next in`, async () => {
  const open = [];
  for (let i = 0; i < MAX_CONNECTIONS; i++) open.push((await SmtpClient.connect(app.mailroom.smtp!.submission, { localAddress: '127.0.0.7' })).client);
  const { client: extra, greeting } = await SmtpClient.connect(app.mailroom.smtp!.submission, { localAddress: '127.0.0.7' });
  assertReply(greeting, 421, '4.7.0', /Too many connections/);
  assert.ok(await extra.waitClosed(), 'the refused connection is closed');
  open.pop()!.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const { client: next, greeting: welcome } = await SmtpClient.connect(app.mailroom.smtp!.submission, { localAddress: '127.0.0.7' });
  assert.equal(welcome.code, 220);
  for (const client of [...open, next]) client.close();
});

test('an idle client is disconnected after MAILROOM_SMTP_IDLE_SECONDS with 421', async () => {
  const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission, { localAddress: '127.0.0.4' });
  await client.command('EHLO client.example');
  const started = Date.now();
  const reply = await client.read(6_000);
  assert.equal(reply.code, 421, reply.text);
  assert.ok(await client.waitClosed(2_000));
  assert.ok(Date.now() - started >= 1_500, 'not before the idle time');
});

test('an over-long command line is answered with a 5xx or a 421 and a close, never taken as a command', async () => {
  const client = await session();
  client.write(`MAIL FROM:<${'a'.repeat(10_000)}@elipackage.com>\r\n`);
  const reply = await client.read();
  assert.ok(reply.code >= 500 || reply.code === 421, reply.text);
  client.close();
});
