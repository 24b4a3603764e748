/**
 * Interop: the whole bounce loop with Postfix as the outside MTA. Mailroom relays a message to a
 * private Postfix instance, whose transport table bounces the recipient's domain with
 * `error:5.1.1` (as if the final server had said "user unknown"). Postfix's bounce daemon writes
 * a real DSN to the VERP Return-Path, and its SMTP client delivers that DSN to Mailroom's inbound
 * MX (the bounce domain's transport entry). The message must turn BOUNCED, the address be
 * suppressed, and the next send be REJECTED. Postfix must run as root (its master starts its
 * daemons as the postfix user); `.ci/run` runs as root and installs it. A missing peer is a
 * failure, never a skip.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../test/helpers/app.js';
import { createTestStore, type TestStore } from '../test/helpers/database.js';
import { prepareStore } from '../test/helpers/process.js';
import { INSTALL_HINT, freePort, greeting } from './peers.js';

const SBIN = '/usr/sbin';
const BOUNCE_DOMAIN = 'bounces.mailroom.test';
let dir = '';
let store: TestStore;
let app: TestApp;

function postfix(args: string[]): string {
  return execFileSync(`${SBIN}/postfix`, ['-c', join(dir, 'etc'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A private Postfix: relays from loopback, bounces customer.test, and routes the bounce domain to Mailroom's MX. */
async function startPostfix(smtpdPort: number, mxPort: number): Promise<void> {
  assert.ok(existsSync(`${SBIN}/postfix`), `postfix is not installed: ${INSTALL_HINT}`);
  assert.equal(process.getuid?.(), 0, 'the Postfix peer must run as root (its master starts its daemons as the postfix user)');
  dir = mkdtempSync(join(tmpdir(), 'mailroom-interop-postfix-'));
  chmodSync(dir, 0o755);
  for (const sub of ['etc', 'spool', 'lib']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'etc', 'transport'), `customer.test error:5.1.1 User unknown in virtual mailbox table\n${BOUNCE_DOMAIN} smtp:[127.0.0.1]:${mxPort}\n`);
  const main: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'lib'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: 'mx.customer.test',
    mydomain: 'customer.test',
    mydestination: '',
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    smtpd_relay_restrictions: 'permit_mynetworks, reject',
    // Accept at RCPT, as a real MX relay does, so that the bounce comes later, as a DSN.
    smtpd_reject_unlisted_recipient: 'no',
    transport_maps: `texthash:${join(dir, 'etc', 'transport')}`,
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    smtp_dns_support_level: 'disabled',
    smtp_tls_security_level: 'none',
    smtpd_tls_security_level: 'none',
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
  };
  writeFileSync(join(dir, 'etc', 'main.cf'), Object.entries(main).map(([key, value]) => `${key} = ${value}`).join('\n') + '\n');
  writeFileSync(join(dir, 'etc', 'master.cf'), [
    `127.0.0.1:${smtpdPort} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup', 'cleanup unix n - n - 0 cleanup', 'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite', 'bounce unix - - n - 0 bounce', 'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce', 'verify unix - - n - 1 verify', 'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap', 'smtp unix - - n - - smtp', 'relay unix - - n - - smtp',
    'showq unix n - n - - showq', 'error unix - - n - - error', 'retry unix - - n - - error',
    'discard unix - - n - - discard', 'anvil unix - - n - 1 anvil', 'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ].join('\n') + '\n');
  execFileSync('chown', ['postfix', join(dir, 'lib')]);
  postfix(['check']);
  postfix(['start']);
  await eventually(async () => (await greeting(smtpdPort).catch(() => '')).startsWith('220'), 15_000, 'Postfix smtpd');
}

before(async () => {
  const [smtpdPort, mxPort] = [await freePort(), await freePort()];
  await startPostfix(smtpdPort, mxPort);
  store = await createTestStore();
  const encryptionKey = randomBytes(32);
  await prepareStore(store, ['elipackage.com'], encryptionKey);
  app = await startTestApp({
    MAILROOM_ROLES: 'api,worker,mx',
    MAILROOM_TRANSPORT: 'relay',
    MAILROOM_RELAY_URL: `smtp://127.0.0.1:${smtpdPort}`,
    MAILROOM_MX_PORT: String(mxPort),
    MAILROOM_BOUNCE_DOMAIN: BOUNCE_DOMAIN,
    MAILROOM_ENCRYPTION_KEY: encryptionKey.toString('base64'),
  }, { store });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  if (dir) {
    try {
      postfix(['stop']);
    } catch {
      // Not started.
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

interface EventBody {
  type: string;
  details: Record<string, unknown>;
}

test("Postfix's own DSN for a relayed message turns it BOUNCED, suppresses the address, and the next send is REJECTED", async () => {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'jane@customer.test', callbacks: [] } });
  assert.equal(response.status, 200, await response.clone().text());
  const { id } = ((await response.json()) as { data: { id: string } }).data;

  // The relay's acceptance (SENT) and its DSN race: the DSN may be recorded first. Either way
  // the message ends BOUNCED, as the fold of its events says.
  const events = await eventually(async () => {
    app.mailroom.worker!.wakeUp();
    const list = ((await (await app.api(`/emails/${id}/events`)).json()) as { data: EventBody[] }).data;
    return list.some((event) => event.type === 'BOUNCED') && list.some((event) => event.type === 'SENT') ? list : undefined;
  }, 30_000, 'SENT and the DSN from Postfix').catch((error: unknown) => {
    // What Postfix did with the message and its DSN, for whoever reads the failure.
    console.log(readFileSync(join(dir, 'maillog'), 'utf8'));
    throw error;
  });
  assert.deepEqual(events.map((event) => event.type).sort(), ['BOUNCED', 'QUEUED', 'SENT']);
  const status = ((await (await app.api(`/emails/${id}`)).json()) as { data: { status: string } }).data.status;
  assert.equal(status, 'BOUNCED');
  const bounced = events.find((event) => event.type === 'BOUNCED')!.details;
  assert.equal(bounced.async, true);
  assert.equal(bounced.recipient, 'jane@customer.test');
  assert.equal(bounced.bounceClass, 'HARD');
  assert.equal(bounced.reason, 'userunknown');
  assert.equal(bounced.enhancedCode, '5.1.1');

  const suppressed = await app.api('/suppressions/jane@customer.test');
  assert.equal(suppressed.status, 200);
  assert.equal(((await suppressed.json()) as { data: { reason: string; messageId: string } }).data.messageId, id);

  const next = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'jane@customer.test', callbacks: [] } });
  const data = ((await next.json()) as { data: { status: string; reason: string } }).data;
  assert.deepEqual([data.status, data.reason], ['REJECTED', 'SUPPRESSED']);
});
