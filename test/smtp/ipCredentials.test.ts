import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { SmtpCredentialResolver } from '../../src/accounts/smtpCredentials.js';
import { eventually, otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { SmtpClient } from '../helpers/smtpClient.js';

/**
 * The attack of issue 15 over real SMTP on loopback: an account that held 127.0.0.0/8 lost
 * unauthenticated mail from 127.0.0.1 to an account that added 127.0.0.1/32 after it (the
 * narrowest range won), content and all, into the other's sandbox. And the listener's defence
 * for rows written before the fix: an address ranges of two accounts cover authenticates as nobody.
 */
let store: TestStore;
let app: TestApp;
let beta: string;
let submission: { host: string; port: number };

before(async () => {
  store = await createTestStore();
  app = await startTestApp(
    {
      MAILROOM_ROLES: 'api,smtp,worker',
      MAILROOM_SMTP_PORT: '0',
      MAILROOM_SMTPS_PORT: '0',
      MAILROOM_TRANSPORT: 'sandbox',
      // The review's ranges: a /8 is wider than the default limit (/16).
      MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4: '8',
    },
    { store },
  );
  beta = await otherAccountKey(app, 'beta');
  const address = app.mailroom.smtp!.submission;
  const colon = address.lastIndexOf(':');
  submission = { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
});
after(async () => {
  await app.stop();
  await store.dispose();
});

async function post(key: string, address: string): Promise<{ status: number; code?: string }> {
  const response = await app.api('/smtp-credentials', { method: 'POST', json: { type: 'ip', address }, key });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code };
}

async function sandboxSubjects(key: string): Promise<string[]> {
  const response = await app.api('/sandbox/messages?limit=100', { key });
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: { subject: string }[] }).data.map((message) => message.subject);
}

async function accountId(name: string): Promise<number> {
  const [row] = await app.mailroom.db.query<{ id: number }>('SELECT id FROM accounts WHERE name = $1', [name]);
  return Number(row!.id);
}

/** An IP credential row as the code before the fix wrote it, without any check. */
async function insertRow(account: string, address: string): Promise<number> {
  const id = await accountId(account);
  const [row] = await app.mailroom.db.query<{ id: number }>(
    `INSERT INTO smtp_credentials (account_id, operator_id, kind, name, address)
     VALUES ($1, (SELECT min(id) FROM operators WHERE account_id = $1), 'ip', 'before the fix', $2) RETURNING id`,
    [id, address],
  );
  return Number(row!.id);
}

/** MAIL FROM without AUTH from a loopback address: 250 if an IP credential let it in. */
async function mailFromWithoutAuth(localAddress: string): Promise<number> {
  const { client } = await SmtpClient.connect(app.mailroom.smtp!.submission, { localAddress });
  try {
    await client.command('EHLO client.example');
    return (await client.command('MAIL FROM:<app@example.com>')).code;
  } finally {
    client.close();
  }
}

test('the review\'s attack: with alpha holding 127.0.0.0/8, beta cannot take 127.0.0.1, and alpha\'s mail stays alpha\'s', async () => {
  assert.equal((await post(app.key, '127.0.0.0/8')).status, 201);
  for (const spelling of ['127.0.0.1/32', '127.0.0.1', '::ffff:127.0.0.1', '127.0.0.0/24', '127.0.0.0/8']) {
    assert.deepEqual(await post(beta, spelling), { status: 409, code: 'IP_RANGE_TAKEN' }, spelling);
  }

  const subject = `alpha's order confirmation ${Date.now()}`;
  const transport = nodemailer.createTransport({ ...submission, localAddress: '127.0.0.1', tls: { rejectUnauthorized: false } });
  const info = await transport.sendMail({ from: 'orders@alpha.example', to: 'customer@example.org', subject, text: 'your order 1001' });
  assert.match(info.response, /^250 2\.0\.0 Ok: queued as /);
  await eventually(async () => (await sandboxSubjects(app.key)).includes(subject), 15_000, 'the message in alpha\'s sandbox');
  assert.deepEqual(await sandboxSubjects(beta), [], 'nothing reached beta\'s sandbox');
  const [stored] = await app.mailroom.db.query<{ name: string }>(
    `SELECT a.name FROM messages m JOIN accounts a ON a.id = m.account_id WHERE m.subject = $1`,
    [subject],
  );
  assert.equal(stored?.name, 'default');
});

test('rows from before the fix: an address ranges of two accounts cover authenticates as nobody (AUTH required)', async () => {
  // alpha holds 127.0.0.0/8 (the test above); beta's /32 inside it, written as the old code did.
  const row = await insertRow('beta', '127.0.0.5/32');
  await eventually(async () => (await mailFromWithoutAuth('127.0.0.5')) === 530, 15_000, '530 from the address both accounts cover');
  assert.equal(await mailFromWithoutAuth('127.0.0.6'), 250, 'the rest of alpha\'s range is alpha\'s');
  await app.mailroom.db.query('UPDATE smtp_credentials SET revoked_at = now() WHERE id = $1', [row]);
  await eventually(async () => (await mailFromWithoutAuth('127.0.0.5')) === 250, 15_000, 'alpha\'s again once beta\'s row is revoked');
});

test('the resolver fails closed on overlapping rows of different accounts, and warns once per reload with their ids only', async () => {
  await otherAccountKey(app, 'gamma');
  const alphaV6 = await insertRow('default', '2001:db8:a::/48');
  const betaV6 = await insertRow('beta', '2001:db8:a:1::/64');
  const gammaV6 = await insertRow('gamma', '2001:db8:b::/48');
  // The old code stored IPv4-mapped input as IPv6 text (this is ::ffff:10.70.0.0/112).
  const betaMapped = await insertRow('beta', '::ffff:a46:0/112');
  const alphaV4 = await insertRow('default', '10.70.1.0/24');
  const alphaOwn = await insertRow('default', '10.70.1.0/28');

  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const resolver = new SmtpCredentialResolver(app.mailroom.db, { log: pino({ level: 'warn' }, sink) });
  const owner = async (address: string) => (await resolver.byAddress(address))?.accountName ?? null;

  assert.equal(await owner('2001:db8:a:1::5'), null, 'alpha\'s /48 and beta\'s /64');
  assert.equal(await owner('2001:db8:a:2::5'), 'default');
  assert.equal(await owner('2001:db8:b::1'), 'gamma');
  assert.equal(await owner('10.70.1.1'), null, 'beta\'s mapped /112 is 10.70.0.0/16, around alpha\'s /24');
  assert.equal(await owner('::ffff:10.70.1.1'), null, 'the same client on a dual-stack socket');
  assert.equal(await owner('10.70.2.1'), 'beta');
  assert.equal(await owner('127.0.0.9'), 'default');

  assert.equal(lines.length, 1, 'one warning for the load');
  const warning = JSON.parse(lines[0]!) as { level: number; msg: string; overlappingCredentialIds: [number, number][] };
  assert.equal(warning.level, 40);
  const pairs = warning.overlappingCredentialIds.map((pair) => pair.join('/'));
  assert.ok(pairs.includes(`${alphaV6}/${betaV6}`), lines[0]);
  assert.ok(pairs.includes(`${betaMapped}/${alphaV4}`) && pairs.includes(`${betaMapped}/${alphaOwn}`), lines[0]);
  assert.ok(!pairs.some((pair) => pair.includes(String(gammaV6))), 'gamma overlaps nobody');
  assert.ok(!pairs.includes(`${alphaV4}/${alphaOwn}`), 'ranges of one account may overlap');
  for (const hidden of ['2001:db8', '10.70', 'beta', 'gamma', 'default']) assert.ok(!lines[0]!.includes(hidden), `the warning holds "${hidden}"`);

  await owner('2001:db8:a:1::5');
  assert.equal(lines.length, 1, 'not again until the next reload');
  await app.mailroom.db.query('UPDATE smtp_credentials SET revoked_at = now() WHERE id = ANY($1::bigint[])', [[betaV6, betaMapped]]);
  resolver.forget();
  assert.equal(await owner('2001:db8:a:1::5'), 'default');
  assert.equal(await owner('10.70.1.1'), 'default');
  assert.equal(await owner('10.70.2.1'), null);
  assert.equal(lines.length, 1, 'no overlap left, no warning');
});
