import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAccount, requireAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { addDomain } from '../../src/domains/domains.js';
import { ManualClock } from '../../src/shared/clock.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { freePort, prepareStore } from '../helpers/process.js';

/**
 * Issue 17, item 5: a HIPAA account's mail goes only over TLS with a certificate that verifies.
 * Three receivers on one port at three loopback addresses, found through a DNS server: one
 * without STARTTLS, one with a self-signed certificate, one whose certificate the installation
 * trusts (MAILROOM_OUTBOUND_CA_FILE, as a private CA would be). The first two never receive the
 * message: it is deferred with reason tlsrequired, then bounces with it after the retries. A
 * standard account's mail still goes to all three (opportunistic TLS, RFC 7435).
 */
interface Received { host: string; to: string[]; secure: boolean; raw: string }
const received: Received[] = [];
const servers: SMTPServer[] = [];
const clock = new ManualClock(new Date());
let dns: TestDnsServer;
let store: TestStore;
let app: TestApp;
let hipaaKey: string;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

async function receiver(host: string, port: number, tls: { key: string; cert: string } | null): Promise<void> {
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({ host, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), secure: session.secure, raw: Buffer.concat(chunks).toString('latin1') });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  servers.push(server);
}

before(async () => {
  const port = await freePort();
  const trusted = await generate([{ name: 'commonName', value: 'mx.trusted.test' }], {
    keySize: 2048, algorithm: 'sha256', extensions: [{ name: 'basicConstraints', cA: true }, { name: 'subjectAltName', altNames: [{ type: 2, value: 'mx.trusted.test' }] }],
  });
  const untrusted = await generate([{ name: 'commonName', value: 'mx.selfsigned.test' }], {
    keySize: 2048, algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'mx.selfsigned.test' }] }],
  });
  await receiver('127.0.0.2', port, null);
  await receiver('127.0.0.3', port, { key: untrusted.private, cert: untrusted.cert });
  await receiver('127.0.0.4', port, { key: trusted.private, cert: trusted.cert });
  dns = await startDnsServer({
    'plain.test': { MX: [{ exchange: 'mx.plain.test', priority: 10 }] },
    'mx.plain.test': { A: ['127.0.0.2'] },
    'selfsigned.test': { MX: [{ exchange: 'mx.selfsigned.test', priority: 10 }] },
    'mx.selfsigned.test': { A: ['127.0.0.3'] },
    'trusted.test': { MX: [{ exchange: 'mx.trusted.test', priority: 10 }] },
    'mx.trusted.test': { A: ['127.0.0.4'] },
  });
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  const caFile = join(store.settings.dataDir, 'outbound-ca.pem');
  writeFileSync(caFile, trusted.cert);
  app = await startTestApp({
    MAILROOM_TRANSPORT: 'mx', MAILROOM_DNS_SERVERS: dns.address, MAILROOM_MX_DELIVERY_PORT: String(port), MAILROOM_OUTBOUND_CA_FILE: caFile, MAILROOM_MAX_RETRY_HOURS: '1',
    MAILROOM_HIPAA_HTTP_PORT: String(await freePort()),
  }, { store, clock });
  const { db, secrets } = app.mailroom;
  await createAccount(db, secrets, 'clinic', { hipaa: true });
  hipaaKey = (await createKey(db, { accountName: 'clinic' })).key;
  await addDomain(db, secrets, (await requireAccount(db, 'clinic')).id, 'clinic.example', { verified: true });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await dns?.close();
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await insecure.close();
});

/** Through the HIPAA listener, with the HIPAA account's key. */
async function sendHipaa(to: string): Promise<string> {
  const response = await undiciFetch(`${app.mailroom.hipaa.url}/emails`, {
    method: 'POST', dispatcher: insecure, headers: { authorization: `Bearer ${hipaaKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'lab@clinic.example', to, subject: 'Results', text: 'See your results', html: '<p>See <a href="https://portal.example/results/123">your results</a></p>' }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

async function status(id: string): Promise<{ status: string; events: { type: string; details: Record<string, unknown> }[] }> {
  const [row] = await app.mailroom.db.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id]);
  const events = await app.mailroom.db.query<{ type: string; details: Record<string, unknown> }>('SELECT type, details FROM message_events WHERE message_id = $1 ORDER BY id', [id]);
  return { status: row!.status, events };
}

test('HIPAA mail: delivered over TLS that verifies, never in clear nor to a certificate that does not; its links are never rewritten', async () => {
  // Even with click tracking on for the account (a setting the API refuses it now): never for HIPAA mail.
  await app.mailroom.db.query("UPDATE accounts SET track_clicks = true WHERE name = 'clinic'");
  const good = await sendHipaa('patient@trusted.test');
  const noTls = await sendHipaa('patient@plain.test');
  const badCert = await sendHipaa('patient@selfsigned.test');
  app.mailroom.worker!.wakeUp();
  await eventually(async () => (await status(good)).status === 'DELIVERED', 20_000, 'delivered over verified TLS');
  const deferred = async (id: string) => eventually(async () => {
    app.mailroom.worker!.wakeUp();
    const state = await status(id);
    return state.status === 'DEFERRED' ? state : undefined;
  }, 20_000, `${id} deferred`);
  for (const id of [noTls, badCert]) {
    const state = await deferred(id);
    const event = state.events.at(-1)!;
    assert.equal(event.type, 'DEFERRED');
    assert.equal(event.details.reason, 'tlsrequired');
    // A HIPAA message's events keep codes and reasons, never a reply's text, an address or a host.
    assert.deepEqual(Object.keys(event.details).filter((key) => ['reply', 'host', 'recipients'].includes(key)), []);
    assert.doesNotMatch(JSON.stringify(event.details), /patient|\.test|certificate/);
  }
  const delivered = received.filter((entry) => entry.to.includes('patient@trusted.test'));
  assert.deepEqual(delivered.map((entry) => [entry.host, entry.secure]), [['127.0.0.4', true]]);
  assert.match(delivered[0]!.raw, /portal\.example\/results\/123/);
  assert.doesNotMatch(delivered[0]!.raw, /\/t\/c\//, 'no tracked link');
  assert.equal(received.filter((entry) => entry.host !== '127.0.0.4').length, 0, 'nothing reached the receivers without verified TLS');

  // After the retry period (1 h here) they bounce, with the reason.
  for (let step = 0; step < 8; step++) {
    clock.advance(15 * 60_000);
    app.mailroom.worker!.wakeUp();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const id of [noTls, badCert]) {
    const state = await eventually(async () => {
      app.mailroom.worker!.wakeUp();
      const current = await status(id);
      return current.status === 'BOUNCED' ? current : undefined;
    }, 20_000, `${id} bounced`);
    const bounce = state.events.at(-1)!;
    assert.equal(bounce.details.reason, 'tlsrequired');
  }
  assert.equal(received.filter((entry) => entry.host !== '127.0.0.4').length, 0);
});

test('a standard account\'s mail still goes in clear or to a self-signed certificate (opportunistic TLS)', async () => {
  for (const to of ['someone@plain.test', 'someone@selfsigned.test']) {
    const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to, callbacks: [] } });
    assert.equal(response.status, 200);
  }
  await eventually(async () => {
    app.mailroom.worker!.wakeUp();
    return received.filter((entry) => entry.to[0]!.startsWith('someone@')).length === 2;
  }, 20_000, 'both delivered');
});
