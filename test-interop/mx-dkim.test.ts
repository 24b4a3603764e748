/**
 * Interop: the `mx` transport end to end with outside peers. A DNS server started here publishes
 * MX records for three recipient domains, all pointing at postfix's `smtp-sink`; Mailroom looks
 * them up, delivers, and every dumped message is checked by Debian's python3-dkim (dkimpy): both
 * signatures, RSA-2048 and Ed25519 (RFC 8463), verify with the public keys given offline, and the
 * MAIL FROM is a VERP address that decodes back to its message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { KeyRing } from '../src/crypto/keyring.js';
import { requireAccount } from '../src/accounts/accounts.js';
import { Verp } from '../src/bounces/verp.js';
import { addDomain, dkimRecord, type Domain } from '../src/domains/domains.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../test/helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../test/helpers/dnsServer.js';
import { INSTALL_HINT, settledFiles, startSink, type Sink } from './peers.js';

const PYTHON = '/usr/bin/python3'; // Debian's, where python3-dkim (and python3-nacl for Ed25519) is installed
const KEY = randomBytes(32);

/** Verifies every DKIM-Signature of a message; prints [{"a": algorithm, "ok": bool}, ...]. */
const VERIFY_ALL = `
import sys, json, dkim
records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read().replace(b'\\r\\n', b'\\n').replace(b'\\n', b'\\r\\n')
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    record = records.get(name.rstrip('.'))
    return record.encode() if record else None
count = sum(1 for line in message.split(b'\\r\\n') if line.lower().startswith(b'dkim-signature:'))
results = []
for index in range(count):
    d = dkim.DKIM(message)
    try:
        ok = d.verify(idx=index, dnsfunc=dnsfunc)
    except dkim.ValidationError:
        ok = False
    results.append({"a": d.signature_fields.get(b'a', b'').decode(), "ok": bool(ok)})
print(json.dumps(results))
`;

function verifyAll(message: string, records: Record<string, string>): { a: string; ok: boolean }[] {
  const probe = spawnSync(PYTHON, ['-c', 'import dkim, nacl'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `python3-dkim or python3-nacl missing for ${PYTHON}: ${INSTALL_HINT} (${probe.stderr})`);
  const run = spawnSync(PYTHON, ['-c', VERIFY_ALL, JSON.stringify(records)], { input: message, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { a: string; ok: boolean }[];
}

let dns: TestDnsServer;
let sink: Sink;
let app: TestApp;
let domain: Domain;

before(async () => {
  sink = await startSink();
  dns = await startDnsServer({
    'one.test': { MX: [{ exchange: 'mx.one.test', priority: 10 }] },
    'two.test': { MX: [{ exchange: 'mx.two.test', priority: 10 }] },
    'mx.one.test': { A: ['127.0.0.1'] },
    'mx.two.test': { A: ['127.0.0.1'] },
    'implicit.test': { A: ['127.0.0.1'] },
  });
  app = await startTestApp({
    MAILROOM_TRANSPORT: 'mx',
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_MX_DELIVERY_PORT: String(sink.port),
    MAILROOM_ENCRYPTION_KEY: KEY.toString('base64'),
  });
  const account = await requireAccount(app.mailroom.db, 'default');
  domain = await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, 'elipackage.com', { verified: true, selector: 'interop', ed25519: true });
});
after(async () => {
  await app?.stop();
  await sink?.stop();
  await dns?.close();
});

test('mx delivery to smtp-sink: every message arrives once, with RSA and Ed25519 signatures python3-dkim verifies and a VERP MAIL FROM', async () => {
  const recipients = ['ann@one.test', 'bob@one.test', 'cid@two.test', 'dee@implicit.test', 'eve@two.test', 'fay@one.test'];
  const ids = new Map<string, string>();
  for (const to of recipients) {
    const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to, subject: `Grüße an ${to}`, text: '<p>Hello</p><p>.dot line</p>' } });
    assert.equal(response.status, 200, await response.clone().text());
    ids.set(((await response.json()) as { data: { id: string } }).data.id, to);
  }
  await eventually(async () => {
    const statuses = await Promise.all([...ids.keys()].map(async (id) => ((await (await app.api(`/emails/${id}`)).json()) as { data: { status: string } }).data.status));
    assert.ok(statuses.every((status) => status === 'DELIVERED' || status === 'QUEUED'), statuses.join(','));
    return statuses.every((status) => status === 'DELIVERED');
  }, 30_000, 'all DELIVERED');

  const files = await settledFiles(sink, recipients.length);
  assert.equal(files.length, recipients.length, 'one dump per message, no duplicates');
  const records = {
    [`${domain.dkim_selector}._domainkey.elipackage.com`]: dkimRecord(domain.dkim_public_key),
    [`${domain.dkim_ed25519_selector!}._domainkey.elipackage.com`]: dkimRecord(domain.dkim_ed25519_public_key!, 'ed25519'),
  };
  const verp = new Verp(new KeyRing(KEY));
  const seen = new Set<string>();
  for (const file of files) {
    const raw = readFileSync(file, 'latin1');
    const split = raw.indexOf('Received: from');
    // smtp-sink's own records and its Received come first; the message as sent follows them.
    const afterReceived = raw.slice(split).replace(/^Received:[^\n]*\n(?:[ \t][^\n]*\n)*/, '');
    const results = verifyAll(afterReceived, records);
    assert.deepEqual(results.map((result) => result.a).sort(), ['ed25519-sha256', 'rsa-sha256'], file);
    assert.ok(results.every((result) => result.ok), `${file}: ${JSON.stringify(results)}`);
    assert.equal(verifyAll(afterReceived.replace('.dot line', '.dot lime'), records).filter((result) => result.ok).length, 0, 'a tampered body fails both');

    const mailFrom = /^X-Mail-Args: <([^>]+)>/m.exec(raw)?.[1];
    assert.ok(mailFrom, `${file}: MAIL FROM`);
    const target = verp.decode(mailFrom);
    assert.ok(target && ids.has(target.messageId), `${mailFrom} decodes to a message of this test`);
    assert.equal(target.recipientIndex, 0);
    assert.equal(target.bounceDomain, 'bounces.elipackage.com');
    seen.add(target.messageId);
  }
  assert.equal(seen.size, recipients.length);
  assert.ok(dns.queries.includes('MX implicit.test') && dns.queries.includes('A implicit.test'), 'implicit MX looked up');
});
