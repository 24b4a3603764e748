import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { verifyAudit } from '../../src/audit/audit.js';
import { AuditChain } from '../../src/audit/chain.js';
import { addDomain } from '../../src/domains/domains.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore, runCli } from '../helpers/process.js';

/**
 * Issue 17, item 7: every API and SMTP action of a HIPAA account, and operator commands on it,
 * are appended to a hash-chained audit log before they are answered; GET /audit reads it (JSON
 * and CSV); the chain shows an edited, a deleted and a cut-off entry. No content in any entry.
 */
const SENTINEL = 'PHI-SENTINEL-7f3a';
let app: TestApp | null;
let store: TestStore;
let hipaaKey: string;
let hipaaKeyId: number;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

before(async () => {
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({
    MAILROOM_ROLES: 'api,smtp',
    MAILROOM_SMTP_PORT: String(await freePort()),
    MAILROOM_SMTPS_PORT: String(await freePort()),
    MAILROOM_HIPAA_HTTP_PORT: String(await freePort()),
    MAILROOM_HIPAA_SMTP_PORT: String(await freePort()),
  }, { store });
  const { db, secrets } = app.mailroom;
  await createAccount(db, secrets, 'clinic', { hipaa: true });
  const created = await createKey(db, { accountName: 'clinic' });
  hipaaKey = created.key;
  hipaaKeyId = created.id;
  await addDomain(db, secrets, (await requireAccount(db, 'clinic')).id, 'clinic.example', { verified: true });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await insecure.close();
});

function hipaa(path: string, init: { method?: string; json?: unknown } = {}) {
  return undiciFetch(`${app!.mailroom.hipaa.url}${path}`, {
    method: init.method ?? 'GET', dispatcher: insecure,
    headers: { authorization: `Bearer ${hipaaKey}`, ...(init.json ? { 'content-type': 'application/json' } : {}) },
    ...(init.json ? { body: JSON.stringify(init.json) } : {}),
  });
}

interface Entry { seq: number; actor: string; operator: string | null; action: string; target: string | null; remoteAddress: string | null; outcome: string; status: string | null }

test('API and SMTP actions are on the account\'s audit log, with who, what, from where and how it ended, and no content', async () => {
  const message = { from: 'lab@clinic.example', to: 'patient@example.com', subject: `Results ${SENTINEL}`, text: `Body ${SENTINEL}`, externalId: SENTINEL };
  const sent = await hipaa('/emails', { method: 'POST', json: message });
  assert.equal(sent.status, 200);
  const id = ((await sent.json()) as { data: { id: string } }).data.id;
  assert.equal((await hipaa(`/emails/${id}`)).status, 200);
  assert.equal((await hipaa('/emails', { method: 'POST', json: { ...message, to: `not an address ${SENTINEL}` } })).status, 400);
  // The HIPAA key on the standard listener: refused, and on record.
  assert.equal((await app!.api('/emails', { method: 'POST', key: hipaaKey, json: message })).status, 403);
  const [host, port] = app!.mailroom.hipaa.smtp!.split(':') as [string, string];
  const smtp = nodemailer.createTransport({ host, port: Number(port), secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'apikey', pass: hipaaKey } });
  const info = await smtp.sendMail({ from: 'lab@clinic.example', to: 'patient@example.com', subject: SENTINEL, text: SENTINEL });
  smtp.close();

  const page = await hipaa('/audit?limit=100');
  assert.equal(page.status, 200);
  const entries = ((await page.json()) as { data: Entry[] }).data;
  const summary = entries.map((entry) => [entry.action, entry.outcome, entry.status]);
  assert.deepEqual(summary, [
    ['POST /emails', 'ok', '200'],
    ['GET /emails/:id', 'ok', '200'],
    ['POST /emails', 'refused', '400 VALIDATION_ERROR'],
    ['POST /emails', 'refused', '403 HIPAA_ENDPOINT_REQUIRED'],
    ['SMTP AUTH', 'ok', '235'],
    ['SMTP DATA', 'ok', '250'],
  ]);
  assert.deepEqual(entries.map((entry) => entry.seq), [1, 2, 3, 4, 5, 6]);
  assert.ok(entries.every((entry) => entry.actor === `key:${hipaaKeyId}` && entry.operator === 'default' && /127\.0\.0\.1/.test(entry.remoteAddress ?? '')));
  assert.equal(entries[0]!.target, id, 'the message the send made');
  assert.equal(entries[1]!.target, id, 'the message the read named');
  assert.match(info.messageId, /@/);
  assert.match(entries[5]!.target ?? '', /^[0-9a-z]{22}$/);
  assert.ok(!JSON.stringify(entries).includes(SENTINEL), 'no content in the audit log');

  const csv = await (await hipaa('/audit?format=csv')).text();
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'seq,at,actor,operator,action,target,remoteAddress,outcome,status,keyId,prevHash,hash');
  // The CSV read itself is an action too (entry 7 is the JSON read above).
  assert.ok(lines.length >= 8, csv);
  // Standard accounts' actions are not audited.
  assert.equal((await app!.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'x@example.com', subject: 's', text: 't' } })).status, 200);
  assert.equal(((await (await app!.api('/audit')).json()) as { data: Entry[] }).data.length, 0);

  const verified = await verifyAudit(app!.mailroom.db, new AuditChain(app!.mailroom.secrets.ring));
  assert.deepEqual(verified.problems, []);
  assert.ok(verified.entries >= 8);
});

test('a send\'s entry commits with its messages and is chained soon after; an entry a stopped process left waiting is chained before the log is read', async () => {
  const { db, secrets } = app!.mailroom;
  const account = (await requireAccount(db, 'clinic')).id;
  const message = { from: 'lab@clinic.example', subject: `Results ${SENTINEL}`, text: `Body ${SENTINEL}` };
  const bulk = await hipaa('/emails/bulk', { method: 'POST', json: { messages: [{ ...message, to: 'a@example.com' }, { ...message, to: 'b@example.com' }] } });
  assert.equal(bulk.status, 200);
  const ids = ((await bulk.json()) as { data: { data: { id: string } }[] }).data.map((result) => result.data.id);
  const pending = async () => Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_pending'))[0]!.n);
  // Nothing reads the log here: the server chains the entry of its own accord.
  await eventually(async () => (await pending()) === 0, 15_000, 'the send\'s entry chained');
  const [sent] = await db.query<{ action: string; target: string; outcome: string; status: string }>(
    'SELECT action, target, outcome, status FROM audit_log WHERE account_id = $1 ORDER BY seq DESC LIMIT 1', [account]);
  assert.deepEqual(sent, { action: 'POST /emails/bulk', target: ids.join(' '), outcome: 'ok', status: '200' });

  // A process killed after its send committed and before it chained the entry: the entry waits
  // in audit_pending, and is on the chain before the next read of the log.
  const leftWaiting = { account_id: account, at: new Date().toISOString(), actor: `key:${hipaaKeyId}`, operator: 'default', action: 'POST /emails', target: 'left-waiting', remote_address: '127.0.0.1', outcome: 'ok', status: '200' };
  await db.query('INSERT INTO audit_pending (entries) VALUES ($1::jsonb)', [JSON.stringify([leftWaiting])]);
  const page = await hipaa('/audit?limit=1000');
  assert.equal(page.status, 200);
  const entries = ((await page.json()) as { data: Entry[] }).data;
  assert.deepEqual(entries.slice(-2).map((entry) => entry.target), [ids.join(' '), 'left-waiting']);
  assert.equal(await pending(), 0);
  assert.deepEqual((await verifyAudit(db, new AuditChain(secrets.ring))).problems, []);
});

test('the chain finds an edited entry, a deleted one and a cut-off end; operator commands are audited; mailroom audit verify says so', async () => {
  const { db, secrets } = app!.mailroom;
  const chain = new AuditChain(secrets.ring);
  const account = (await requireAccount(db, 'clinic')).id;
  // Append-only: an UPDATE or DELETE is refused by the database itself.
  await assert.rejects(db.query('UPDATE audit_log SET outcome = $1 WHERE seq = 1', ['refused']), /append-only/);
  await assert.rejects(db.query('DELETE FROM audit_log WHERE seq = 1'), /append-only/);
  // Whoever drops the trigger still cannot hide an edit.
  await db.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
  await db.query("UPDATE audit_log SET remote_address = '10.9.9.9' WHERE account_id = $1 AND seq = 2", [account]);
  let result = await verifyAudit(db, chain);
  assert.deepEqual(result.problems.map((problem) => [problem.seq, /edited/.test(problem.problem)]), [[2, true]]);
  await db.query('DELETE FROM audit_log WHERE account_id = $1 AND seq = 4', [account]);
  result = await verifyAudit(db, chain);
  assert.ok(result.problems.some((problem) => problem.seq === 4 && /missing/.test(problem.problem)), JSON.stringify(result.problems));
  assert.ok(result.problems.some((problem) => problem.seq === 5 && /previous hash/.test(problem.problem)));
  const [{ last }] = await db.query<{ last: number }>('SELECT max(seq)::int AS last FROM audit_log WHERE account_id = $1', [account]) as [{ last: number }];
  await db.query('DELETE FROM audit_log WHERE account_id = $1 AND seq = $2', [account, last]);
  result = await verifyAudit(db, chain);
  assert.ok(result.problems.some((problem) => /cut off the end/.test(problem.problem)), JSON.stringify(result.problems));
  await db.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');

  // The CLI (PGlite's data directory is one process's: stop the server first).
  await app!.stop();
  app = null;
  const keys = await runCli(['keys', 'create', '--account', 'clinic'], store.env);
  assert.equal(keys.code, 0, keys.stderr);
  const verify = await runCli(['audit', 'verify', '--account', 'clinic'], store.env);
  assert.equal(verify.code, 1, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /entry 2: its fields do not match its hash \(the entry was edited\)/);
  assert.match(verify.stdout, /audit log BROKEN/);
  const opened = await store.open();
  try {
    const [entry] = await opened.query<{ actor: string; action: string; target: string }>("SELECT actor, action, target FROM audit_log WHERE action LIKE 'cli %' ORDER BY seq DESC LIMIT 1");
    assert.deepEqual([entry?.actor, entry?.action], ['cli', 'cli keys create']);
    assert.match(entry!.target, /^key:\d+$/);
  } finally {
    await opened.close();
  }
});
