import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { generate } from 'selfsigned';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { addDomain } from '../../src/domains/domains.js';
import { ManualClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/log.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, onPostgres, type TestStore } from '../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { freePort, prepareStore } from '../helpers/process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

/**
 * Issue 17's PHI sentinels: a HIPAA account's messages carry a unique string in every field a
 * caller fills (addresses, subject, bodies, headers, attachment names and bytes, template
 * placeholders, alias, externalId, clientId, tags), over HTTP and SMTP. Some are delivered (over
 * TLS that verifies), some refused at RCPT (a hard bounce), some deferred, one bounced later
 * through the inbound MX, some refused at the door (bad input, policy). Then no sentinel may be
 * found in any log line, any column of any table, the raw database files, any webhook body,
 * any error answer or /metrics; and once final, the messages' content and data keys are gone,
 * from the tables and (after the key table is rewritten) from its data files.
 */
const TOKEN = 'metrics-token-0123456789abcdef';
const run = randomBytes(4).toString('hex');
const sentinel = (field: string) => `phi${run}${field}`;
const sentinels: string[] = [];
const mark = (field: string) => {
  const value = sentinel(field);
  sentinels.push(value);
  return value;
};

interface Received { to: string[]; mailFrom: string; raw: string }
const received: Received[] = [];
const logLines: string[] = [];
const errorBodies: string[] = [];
let server: SMTPServer;
let dns: TestDnsServer;
let store: TestStore;
let app: TestApp;
let hook: WebhookReceiver;
let key: string;
let mxPort: number;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });
const clock = new ManualClock(new Date());

before(async () => {
  const port = await freePort();
  mxPort = await freePort();
  const ca = await generate([{ name: 'commonName', value: 'mx.trusted.test' }], {
    keySize: 2048, algorithm: 'sha256', extensions: [{ name: 'basicConstraints', cA: true }, { name: 'subjectAltName', altNames: [{ type: 2, value: 'mx.trusted.test' }] }],
  });
  // A receiver with a certificate the installation trusts: refuses (550, quoting the address)
  // what names "bounce", defers (451, quoting it) what names "defer", takes the rest.
  server = new SMTPServer({
    authOptional: true, logger: false, disabledCommands: ['AUTH'], key: ca.private, cert: ca.cert,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (address.address.includes('bounce')) return callback(Object.assign(new Error(`5.1.1 <${address.address}>: user unknown`), { responseCode: 550 }));
      if (address.address.includes('defer')) return callback(Object.assign(new Error(`4.2.0 <${address.address}>: mailbox busy`), { responseCode: 451 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', raw: Buffer.concat(chunks).toString('latin1') });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  dns = await startDnsServer({ 'trusted.test': { MX: [{ exchange: 'mx.trusted.test', priority: 10 }] }, 'mx.trusted.test': { A: ['127.0.0.1'] } });
  hook = await startWebhookReceiver();
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  const caFile = join(store.settings.dataDir, 'outbound-ca.pem');
  writeFileSync(caFile, ca.cert);
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  app = await startTestApp({
    MAILROOM_ROLES: 'api,worker,smtp,mx',
    MAILROOM_TRANSPORT: 'mx', MAILROOM_DNS_SERVERS: dns.address, MAILROOM_MX_DELIVERY_PORT: String(port), MAILROOM_OUTBOUND_CA_FILE: caFile,
    MAILROOM_MX_PORT: String(mxPort), MAILROOM_BOUNCE_DOMAIN: 'bounces.mailroom.test',
    MAILROOM_SMTP_PORT: String(await freePort()), MAILROOM_SMTPS_PORT: String(await freePort()),
    MAILROOM_HIPAA_HTTP_PORT: String(await freePort()), MAILROOM_HIPAA_SMTP_PORT: String(await freePort()),
    MAILROOM_ALLOW_PRIVATE_CALLBACKS: 'true', MAILROOM_METRICS_TOKEN: TOKEN, MAILROOM_HIPAA_RETENTION_HOURS: '1',
  }, { store, clock, log: createLogger('debug', logStream) });
  const { db, secrets } = app.mailroom;
  await createAccount(db, secrets, 'clinic', { hipaa: true });
  key = (await createKey(db, { accountName: 'clinic' })).key;
  await addDomain(db, secrets, (await requireAccount(db, 'clinic')).id, 'clinic.example', { verified: true });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await dns?.close();
  await hook?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await insecure.close();
});

async function hipaa(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST', idempotencyKey?: string): Promise<{ status: number; text: string }> {
  const response = await undiciFetch(`${app.mailroom.hipaa.url}${path}`, {
    method, dispatcher: insecure,
    headers: {
      authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 400) errorBodies.push(text);
  return { status: response.status, text };
}

/** A message with a sentinel in every field, to `local`@trusted.test. */
function message(local: string, tag: string) {
  return {
    from: 'Lab <lab@clinic.example>',
    to: `${mark(`${tag}to`)}${local}@trusted.test`,
    cc: [`${mark(`${tag}cc`)}@trusted.test`],
    bcc: [`${mark(`${tag}bcc`)}@trusted.test`],
    subject: `Results ${mark(`${tag}subject`)}`,
    text: `Dear patient, ${mark(`${tag}text`)}`,
    html: `<p>Dear patient, ${mark(`${tag}html`)}</p>`,
    headers: { 'X-Patient': mark(`${tag}header`) },
    attachments: [{ filename: `${mark(`${tag}filename`)}.pdf`, content: Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(mark(`${tag}attachment`))]).toString('base64'), contentType: 'application/pdf' }],
    alias: mark(`${tag}alias`),
    externalId: mark(`${tag}externalid`),
    clientId: mark(`${tag}clientid`),
    tags: [mark(`${tag}tag`)],
    callbacks: [`${hook.base}/callback`],
  };
}

function findSentinels(text: string): string[] {
  const lower = text.toLowerCase();
  return sentinels.filter((value) => lower.includes(value));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every file of the database: PGlite's data directory, or PostgreSQL's files of this database's relations. */
async function databaseFiles(): Promise<{ name: string; bytes: Buffer }[]> {
  const { db } = app.mailroom;
  if (!onPostgres) return filesUnder(join(store.settings.dataDir, 'pglite')).map((path) => ({ name: path, bytes: readFileSync(path) }));
  await db.query('CHECKPOINT');
  const relations = await db.query<{ path: string }>(
    "SELECT pg_relation_filepath(c.oid) AS path FROM pg_class c WHERE c.relkind IN ('r', 't', 'i', 'm') AND pg_relation_filepath(c.oid) IS NOT NULL",
  );
  const files: { name: string; bytes: Buffer }[] = [];
  for (const { path } of relations) {
    // Superuser's pg_read_binary_file: the test needs no access to the server's file system.
    const [row] = await db.query<{ bytes: Uint8Array }>('SELECT pg_read_binary_file($1) AS bytes', [path]);
    files.push({ name: path, bytes: Buffer.from(row!.bytes) });
  }
  return files;
}

function findInFiles(files: { name: string; bytes: Buffer }[], needles: string[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    for (const needle of needles) if (file.bytes.includes(needle)) hits.push(`${needle} in ${file.name}`);
  }
  return hits;
}

async function statuses(): Promise<Map<string, string>> {
  const rows = await app.mailroom.db.query<{ id: string; status: string }>("SELECT m.id, m.status FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.name = 'clinic'");
  return new Map(rows.map((row) => [row.id, row.status]));
}

test('no PHI sentinel anywhere: logs, tables, database files, webhooks, errors, metrics; shredded once final', async () => {
  const webhook = await hipaa('/webhooks', { url: `${hook.base}/hook` });
  assert.equal(webhook.status, 201, webhook.text);
  await hipaa('/templates', { name: 'reminder', subject: 'Your appointment', text: 'Hello {{name}}, see you {{when}}' });

  // HTTP: delivered, refused at RCPT (hard bounce), deferred; one from a template with recipient placeholders.
  const ids: string[] = [];
  for (const [local, tag] of [['ok', 'a'], ['bounce', 'b'], ['defer', 'c']] as const) {
    const sent = await hipaa('/emails', message(local, tag));
    assert.equal(sent.status, 200, sent.text);
    ids.push((JSON.parse(sent.text) as { data: { id: string } }).data.id);
  }
  const templated = await hipaa('/emails', {
    from: 'lab@clinic.example', to: `${mark('tplto')}@trusted.test`, templateId: 'reminder',
    placeholders: { name: mark('placeholdername'), when: mark('placeholderwhen') }, externalId: mark('tplexternalid'),
  });
  assert.equal(templated.status, 200, templated.text);
  // An Idempotency-Key: the replay answers the same id; what is kept is keyed and withheld (the table scan below).
  const keyed = message('ok', 'k');
  const once = await hipaa('/emails', keyed, 'POST', 'idem-1');
  const twice = await hipaa('/emails', keyed, 'POST', 'idem-1');
  assert.equal((JSON.parse(twice.text) as { data: { id: string } }).data.id, (JSON.parse(once.text) as { data: { id: string } }).data.id);
  const [idempotency] = await app.mailroom.db.query<{ request_hash: string }>('SELECT request_hash FROM idempotency_keys');
  assert.match(idempotency!.request_hash, /^hmac:[0-9a-f]{64}$/);
  const bulk = await hipaa('/emails/bulk', { messages: [message('ok', 'd'), { ...message('ok', 'e'), from: `${mark('badfrom')}@unverified.test` }] });
  assert.equal(bulk.status, 200, bulk.text);
  assert.equal(findSentinels(JSON.stringify((JSON.parse(bulk.text) as { data: { error?: unknown }[] }).data.map((result) => result.error ?? null))).length, 0, 'a refusal in a bulk answer repeats nothing');

  // Refused at the door: bad input and policy, each with sentinels in what it refuses.
  for (const body of [
    { ...message('ok', 'f'), to: `not an address ${mark('badto')}` },
    { ...message('ok', 'g'), from: `${mark('unverifiedfrom')}@unverified.test` },
    { ...message('ok', 'h'), attachments: [{ filename: `${mark('exefile')}.exe`, content: Buffer.from('MZ').toString('base64') }] },
    { ...message('ok', 'i'), placeholders: { x: mark('placeholderwithout') } },
  ]) {
    const refused = await hipaa('/emails', body);
    assert.equal(Math.floor(refused.status / 100), 4, refused.text);
  }
  await hipaa(`/emails?to=${mark('listto')}@trusted.test&externalId=${mark('listexternal')}`);
  await hipaa(`/emails/${mark('pathid')}`);
  await hipaa(`/suppressions/${mark('suppressionpath')}@trusted.test`);

  // SMTP on the HIPAA listener: one delivered, one refused at RCPT because suppressed.
  await hipaa('/suppressions', { address: `${mark('suppressed')}@trusted.test` });
  const [host, port] = app.mailroom.hipaa.smtp!.split(':') as [string, string];
  const smtp = nodemailer.createTransport({ host, port: Number(port), secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'apikey', pass: key } });
  const info = await smtp.sendMail({
    from: 'lab@clinic.example', to: `${mark('smtpto')}@trusted.test`, subject: mark('smtpsubject'), text: mark('smtptext'),
    headers: { 'X-Mailroom-External-Id': mark('smtpexternal') },
    attachments: [{ filename: `${mark('smtpfilename')}.pdf`, content: Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(mark('smtpattachment'))]) }],
  });
  assert.match(info.response, /^250/);
  const refusedRcpt = await smtp.sendMail({ from: 'lab@clinic.example', to: `${mark('suppressed')}@trusted.test`, subject: 'x', text: 'y' }).then(() => '', (error: { response?: string }) => error.response ?? '');
  assert.match(refusedRcpt, /^550/);
  errorBodies.push(refusedRcpt);
  smtp.close();

  // Deliveries: the ok ones arrive (over verified TLS), the bounce one's To is refused, the defer one defers.
  app.mailroom.worker!.wakeUp();
  await eventually(async () => {
    app.mailroom.worker!.wakeUp();
    const current = [...(await statuses()).values()];
    // The one refused at RCPT had its Cc and Bcc delivered: DELIVERED, its To suppressed.
    return current.filter((status) => status === 'DELIVERED').length === 6 && current.includes('DEFERRED');
  }, 30_000, 'deliveries and a deferral');
  for (const value of [sentinel('ato'), sentinel('atext'), sentinel('smtpsubject'), sentinel('placeholdername')]) {
    assert.equal(received.some((entry) => entry.raw.toLowerCase().includes(value) || entry.to.some((to) => to.includes(value))), true, `${value} reached its recipient: ${received.map((entry) => entry.raw.slice(0, 3000)).join("\n=====\n")}`);
  }

  // A bounce of a delivered message through the inbound MX, naming the address in its text.
  const delivered = received.find((entry) => entry.to.some((to) => to.startsWith(sentinel('ato'))))!;
  const recipient = delivered.to.find((to) => to.startsWith(sentinel('ato')))!;
  const dsn = [
    'From: MAILER-DAEMON@mx.trusted.test', `To: ${delivered.mailFrom}`, 'Subject: Undelivered Mail Returned to Sender', 'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"', '', '--b', 'Content-Type: text/plain', '',
    `<${recipient}>: mailbox disabled (${recipient})`, '', '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.trusted.test', '',
    `Final-Recipient: rfc822; ${recipient}`, 'Action: failed', 'Status: 5.1.1', `Diagnostic-Code: smtp; 550 5.1.1 <${recipient}>: user unknown`, '', '--b--', '',
  ].join('\r\n');
  const mx = nodemailer.createTransport({ host: '127.0.0.1', port: mxPort, secure: false, tls: { rejectUnauthorized: false } });
  await mx.sendMail({ envelope: { from: '', to: [delivered.mailFrom] }, raw: dsn });
  mx.close();
  await eventually(async () => [...(await statuses()).values()].filter((status) => status === 'BOUNCED').length === 1, 15_000, 'the async bounce');

  // Webhooks and callbacks have fired for these events.
  app.mailroom.webhooks!.wakeUp();
  await eventually(async () => hook.received.filter((entry) => entry.json.type === 'BOUNCED').length >= 1, 15_000, 'webhooks');

  // Kept for the retention period (an hour here), then everything that reached a final status
  // is shredded (the deferred one is not final yet).
  const keysBefore = await app.mailroom.db.query<{ wrapped: string }>('SELECT wrapped FROM message_keys');
  assert.equal(keysBefore.length, 7);
  assert.equal(await app.mailroom.shredder!.sweep(), 0);
  clock.advance(61 * 60_000);
  assert.equal(await app.mailroom.shredder!.sweep(), 6);
  const left = await app.mailroom.db.query<{ id: string; status: string; kind: string }>(
    "SELECT m.id, m.status, m.content->>'kind' AS kind FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.name = 'clinic'",
  );
  for (const row of left) {
    const inFlight = ['QUEUED', 'DEFERRED', 'SCHEDULED'].includes(row.status);
    assert.equal(row.kind, inFlight ? 'sealed' : 'shredded', `${row.status} ${row.id}`);
  }
  const keysAfter = new Set((await app.mailroom.db.query<{ message_id: string }>('SELECT message_id FROM message_keys')).map((row) => row.message_id));
  assert.deepEqual([...keysAfter].sort(), left.filter((row) => row.kind === 'sealed').map((row) => row.id).sort());
  assert.equal(await app.mailroom.shredder!.rewriteKeys(), true);
  const stillKept = new Set((await app.mailroom.db.query<{ wrapped: string }>('SELECT wrapped FROM message_keys')).map((row) => row.wrapped));
  const shreddedKeys = keysBefore.map((row) => row.wrapped).filter((wrapped) => !stillKept.has(wrapped));
  assert.equal(shreddedKeys.length, 6);

  // Nowhere: not in a column of any table,
  const tables = await app.mailroom.db.query<{ name: string }>("SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
  for (const { name } of tables) {
    const rows = await app.mailroom.db.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`);
    assert.deepEqual(findSentinels(rows.map((row) => row.row).join('\n')), [], `table ${name}`);
  }
  // nor in the database's files (shredded keys neither, once the key table is rewritten; the WAL
  // keeps them until its segments are recycled, docs/HIPAA.md). A rewrite keeps the rows that a
  // transaction running at that moment may still see (on PostgreSQL the app's own loops run
  // beside it), which is why the shredder owes a second one: it drops them.
  await app.mailroom.db.query('CHECKPOINT');
  let files = await databaseFiles();
  assert.ok(files.length > 10, `${files.length} files`);
  assert.deepEqual(findInFiles(files, sentinels), []);
  const keysInFiles = () => findInFiles(files.filter((file) => !file.name.includes('pg_wal')), shreddedKeys);
  if (keysInFiles().length > 0) {
    assert.equal(await app.mailroom.shredder!.rewriteKeys(), true);
    await app.mailroom.db.query('CHECKPOINT');
    files = await databaseFiles();
  }
  assert.deepEqual(keysInFiles(), []);
  // nor in a log line, a webhook or callback body, an error answer, or /metrics.
  assert.ok(logLines.length > 3, `${logLines.length} log lines`);
  assert.deepEqual(findSentinels(logLines.join('\n')), []);
  assert.equal(hook.received.some((entry) => entry.path === '/callback'), true, 'callbacks were called');
  assert.deepEqual(findSentinels(hook.received.map((entry) => entry.body).join('\n')), []);
  assert.ok(errorBodies.length >= 7, `${errorBodies.length} errors`);
  assert.deepEqual(findSentinels(errorBodies.join('\n')), []);
  const metrics = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(metrics.status, 200);
  assert.deepEqual(findSentinels(await metrics.text()), []);
  // The API's own reads show ids and statuses only.
  const list = await hipaa('/emails?limit=100');
  assert.equal(list.status, 200);
  assert.equal((JSON.parse(list.text) as { data: unknown[] }).data.length, 7);
  assert.deepEqual(findSentinels(list.text), []);
  for (const id of ids) {
    assert.deepEqual(findSentinels((await hipaa(`/emails/${id}`)).text), []);
    assert.deepEqual(findSentinels((await hipaa(`/emails/${id}/events`)).text), []);
  }
  // Look-ups by recipient and externalId still find the message (through the keyed hash).
  const byTo = await hipaa(`/emails?to=${encodeURIComponent(`${sentinel('ato')}ok@trusted.test`)}`);
  assert.deepEqual((JSON.parse(byTo.text) as { data: { id: string }[] }).data.map((entry) => entry.id), [ids[0]]);
  const byExternal = await hipaa(`/emails?externalId=${sentinel('bexternalid')}`);
  assert.deepEqual((JSON.parse(byExternal.text) as { data: { id: string }[] }).data.map((entry) => entry.id), [ids[1]]);
  // The hard bounce put the address on the list (as its hash): a new send to it is refused.
  const again = await hipaa('/emails', { from: 'lab@clinic.example', to: `${sentinel('bto')}bounce@trusted.test`, subject: 'x', text: 'y' });
  assert.equal((JSON.parse(again.text) as { data: { status: string } }).data.status, 'REJECTED');
});
