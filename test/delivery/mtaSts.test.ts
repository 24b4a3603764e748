import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';
import { Destinations } from '../../src/delivery/destinations.js';
import { MtaStsResolver } from '../../src/delivery/mtaSts.js';
import { MxTransport } from '../../src/delivery/mx.js';
import { MxResolver } from '../../src/delivery/mxResolver.js';
import { SmtpEngine } from '../../src/delivery/smtpEngine.js';
import type { OutboundMessage } from '../../src/delivery/transport.js';
import { createLogger } from '../../src/shared/log.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';
import { freePort, prepareStore } from '../helpers/process.js';

/**
 * MTA-STS (RFC 8461) in mx delivery, with real peers only: a DNS server started here answers MX,
 * A and `_mta-sts` TXT records; an HTTPS server on 127.0.0.5 serves each domain's policy (by
 * Host) and counts the fetches; SMTP receivers on one port listen on 127.0.0.2 (STARTTLS with a
 * certificate from a CA made here, trusted through MAILROOM_OUTBOUND_CA_FILE) and 127.0.0.3
 * (no STARTTLS). Mail comes from the standard account with MAILROOM_MTA_STS=all.
 */
interface Received { host: string; to: string[]; secure: boolean }
interface Served { body: string; type?: string; status?: number; location?: string }
const received: Received[] = [];
const smtpServers: SMTPServer[] = [];
/** Policy responses by host name (mta-sts.<domain>); the fetches each host got. */
const served: Record<string, Served> = {};
const fetches: Record<string, number> = {};
let https: HttpsServer;
let httpsPort: number;
let smtpPort: number;
let caCert: string;
let dns: TestDnsServer;
let store: TestStore;
let app: TestApp;

const GOOD_TLS = '127.0.0.2';
const NO_TLS = '127.0.0.3';
const POLICY_HOST = '127.0.0.5';
/** Nothing listens there: a policy host that is down. */
const DOWN = '127.0.0.6';

function policy(mode: string, mx: string[], maxAge = 86_400): Served {
  return { body: ['version: STSv1', `mode: ${mode}`, ...mx.map((pattern) => `mx: ${pattern}`), `max_age: ${maxAge}`, ''].join('\r\n') };
}

/** A domain with MTA-STS: its MX hosts, its TXT id, its policy host on the HTTPS server. */
function stsDomain(domain: string, mx: { exchange: string; priority: number }[], id: string, response: Served | null) {
  if (response) served[`mta-sts.${domain}`] = response;
  return {
    [domain]: { MX: mx },
    [`_mta-sts.${domain}`]: { TXT: [`v=STSv1; id=${id}`] },
    [`mta-sts.${domain}`]: { A: [response ? POLICY_HOST : DOWN] },
  };
}

async function receiver(host: string, tls: { key: string; cert: string } | null): Promise<void> {
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(tls ?? {}),
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        received.push({ host, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), secure: session.secure });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(smtpPort, host, resolve));
  smtpServers.push(server);
}

/** A CA made here, and one server certificate it signs for every name the servers answer to but mta-sts.badcert.test. */
async function certificates(names: string[]): Promise<{ ca: string; key: string; cert: string }> {
  const ca = await generate([{ name: 'commonName', value: 'Mailroom MTA-STS test CA' }], {
    keySize: 2048, algorithm: 'sha256', extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
  const leaf = await generate([{ name: 'commonName', value: names[0]! }], {
    keySize: 2048, algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) }],
  });
  return { ca: ca.cert, key: leaf.private, cert: leaf.cert };
}

async function startPolicyServer(tls: { key: string; cert: string }): Promise<void> {
  https = createServer(tls, (request, response) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    fetches[host] = (fetches[host] ?? 0) + 1;
    const answer = request.url === '/.well-known/mta-sts.txt' ? served[host] : undefined;
    if (!answer) return void response.writeHead(404).end();
    response.writeHead(answer.status ?? 200, { 'content-type': answer.type ?? 'text/plain', ...(answer.location ? { location: answer.location } : {}) });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => https.listen(httpsPort, POLICY_HOST, resolve));
}

before(async () => {
  [smtpPort, httpsPort] = [await freePort(), await freePort()];
  const domains = ['enforce', 'elsewhere', 'notls', 'testing', 'down', 'nopolicy', 'cache', 'redirect', 'html', 'big', 'badcert', 'twice', 'scoped'];
  const names = [...domains.map((domain) => `mx.${domain}.test`), ...domains.filter((domain) => domain !== 'badcert').map((domain) => `mta-sts.${domain}.test`)];
  const tls = await certificates(names);
  caCert = tls.ca;
  await receiver(GOOD_TLS, tls);
  await receiver(NO_TLS, null);
  await startPolicyServer(tls);
  const good = (name: string) => ({ [name]: { A: [GOOD_TLS] } });
  const plain = (name: string) => ({ [name]: { A: [NO_TLS] } });
  dns = await startDnsServer({
    // Preferred MX in clear (not in the policy), the policy's MX with good TLS behind it.
    ...stsDomain('enforce.test', [{ exchange: 'mx.cheap-provider.test', priority: 5 }, { exchange: 'mx.enforce.test', priority: 10 }], '1', policy('enforce', ['*.enforce.test'])),
    ...plain('mx.cheap-provider.test'), ...good('mx.enforce.test'),
    ...stsDomain('elsewhere.test', [{ exchange: 'mx.elsewhere.test', priority: 10 }], '1', policy('enforce', ['mail.elsewhere.test'])),
    ...good('mx.elsewhere.test'),
    ...stsDomain('notls.test', [{ exchange: 'mx.notls.test', priority: 10 }], '1', policy('enforce', ['mx.notls.test'])),
    ...plain('mx.notls.test'),
    ...stsDomain('testing.test', [{ exchange: 'mx.testing.test', priority: 10 }], '7', policy('testing', ['mx.elsewhere.test'])),
    ...plain('mx.testing.test'),
    ...stsDomain('down.test', [{ exchange: 'mx.down.test', priority: 10 }], '1', null),
    ...plain('mx.down.test'),
    'nopolicy.test': { MX: [{ exchange: 'mx.nopolicy.test', priority: 10 }] },
    ...plain('mx.nopolicy.test'),
    ...stsDomain('cache.test', [{ exchange: 'mx.cache.test', priority: 10 }], '1', policy('enforce', ['mx.cache.test'], 3600)),
    ...stsDomain('redirect.test', [{ exchange: 'mx.redirect.test', priority: 10 }], '1', { ...policy('enforce', ['mx.redirect.test']), status: 301, location: 'https://mta-sts.enforce.test/.well-known/mta-sts.txt' }),
    ...stsDomain('html.test', [{ exchange: 'mx.html.test', priority: 10 }], '1', { ...policy('enforce', ['mx.html.test']), type: 'text/html' }),
    ...stsDomain('big.test', [{ exchange: 'mx.big.test', priority: 10 }], '1', { body: policy('enforce', ['mx.big.test']).body + `x-padding: ${'a'.repeat(70_000)}\r\n` }),
    ...stsDomain('badcert.test', [{ exchange: 'mx.badcert.test', priority: 10 }], '1', policy('enforce', ['mx.badcert.test'])),
    ...stsDomain('twice.test', [{ exchange: 'mx.twice.test', priority: 10 }], '1', policy('enforce', ['mx.twice.test'])),
    ...stsDomain('scoped.test', [{ exchange: 'mx.scoped.test', priority: 10 }], '1', policy('enforce', ['mail.scoped.test'])),
    ...good('mx.scoped.test'),
  });
  dns.zone['_mta-sts.twice.test'] = { TXT: ['v=STSv1; id=1', 'v=STSv1; id=2'] };
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  const caFile = join(store.settings.dataDir, 'outbound-ca.pem');
  writeFileSync(caFile, caCert);
  app = await startTestApp({
    MAILROOM_TRANSPORT: 'mx', MAILROOM_DNS_SERVERS: dns.address, MAILROOM_MX_DELIVERY_PORT: String(smtpPort), MAILROOM_OUTBOUND_CA_FILE: caFile,
    MAILROOM_MTA_STS: 'all', MAILROOM_MTA_STS_PORT: String(httpsPort), MAILROOM_SMTP_TIMEOUT_SECONDS: '5',
  }, { store });
});

after(async () => {
  await app?.stop();
  await store?.dispose();
  await dns?.close();
  for (const server of smtpServers) await new Promise<void>((resolve) => server.close(() => resolve()));
  https?.closeAllConnections();
  await new Promise<void>((resolve) => (https ? https.close(() => resolve()) : resolve()));
});

interface EventBody { type: string; details: Record<string, unknown> }

async function send(to: string): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to, callbacks: [] } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

async function waitFor(id: string, type: string): Promise<EventBody> {
  return eventually(async () => {
    app.mailroom.worker!.wakeUp();
    const events = ((await (await app.api(`/emails/${id}/events`)).json()) as { data: EventBody[] }).data;
    return events.reverse().find((event) => event.type === type);
  }, 20_000, `${type} for ${id}`);
}

function receivedFor(address: string): Received[] {
  return received.filter((entry) => entry.to.includes(address));
}

test('enforce: only the MX hosts the policy names, over TLS that verifies; the policy is fetched once and cached', async () => {
  const first = await send('ann@enforce.test');
  const second = await send('bob@enforce.test');
  for (const id of [first, second]) {
    const event = await waitFor(id, 'DELIVERED');
    assert.equal(event.details.host, 'mx.enforce.test');
    assert.equal(event.details.tls, 'starttls');
  }
  for (const address of ['ann@enforce.test', 'bob@enforce.test']) {
    // Without the policy the preferred MX (in clear, 127.0.0.3) would have taken it.
    assert.deepEqual(receivedFor(address).map((entry) => [entry.host, entry.secure]), [[GOOD_TLS, true]]);
  }
  assert.equal(fetches['mta-sts.enforce.test'], 1);
});

test('enforce: no MX host the policy names, or one without STARTTLS: deferred tlsrequired, nothing sent', async () => {
  const elsewhere = await waitFor(await send('cid@elsewhere.test'), 'DEFERRED');
  assert.equal(elsewhere.details.reason, 'tlsrequired');
  assert.match(String(elsewhere.details.reply), /MTA-STS policy of elsewhere\.test allows none of its MX hosts/);
  const noTls = await waitFor(await send('dee@notls.test'), 'DEFERRED');
  assert.equal(noTls.details.reason, 'tlsrequired');
  assert.deepEqual(receivedFor('cid@elsewhere.test'), []);
  assert.deepEqual(receivedFor('dee@notls.test'), []);
});

test('testing mode, no TXT record, and a policy host that is down (no cached policy): delivered as without MTA-STS', async () => {
  for (const address of ['eve@testing.test', 'fay@nopolicy.test', 'gus@down.test']) {
    const event = await waitFor(await send(address), 'DELIVERED');
    assert.equal(event.details.tls, 'none');
    assert.deepEqual(receivedFor(address).map((entry) => [entry.host, entry.secure]), [[NO_TLS, false]]);
  }
  assert.ok(dns.queries.includes('TXT _mta-sts.nopolicy.test'));
  assert.ok(dns.queries.includes('A mta-sts.down.test'), 'the policy host was looked up through MAILROOM_DNS_SERVERS');
  assert.equal(fetches['mta-sts.nopolicy.test'], undefined);
  assert.equal(fetches['mta-sts.testing.test'], 1);
});

/** The resolver on its own, with a clock of its own, against the same DNS and HTTPS servers. */
function resolverAt(clock: { now: number }): MtaStsResolver {
  return new MtaStsResolver({ dnsServers: [dns.address], port: httpsPort, extraCa: caCert, now: () => clock.now });
}

test('cached until max_age; refetched when the TXT id changes; a failed refetch, or a TXT record gone, keeps the cached policy', async () => {
  const clock = { now: Date.now() };
  const resolver = resolverAt(clock);
  try {
    assert.equal((await resolver.policyFor('cache.test'))?.id, '1');
    assert.equal((await resolver.policyFor('CACHE.test'))?.mode, 'enforce');
    assert.equal(fetches['mta-sts.cache.test'], 1);

    // A new id and policy: seen once the TXT answer (kept five minutes) is asked again.
    dns.zone['_mta-sts.cache.test'] = { TXT: ['v=STSv1; id=2'] };
    served['mta-sts.cache.test'] = policy('testing', ['mx.cache.test'], 3600);
    assert.equal((await resolver.policyFor('cache.test'))?.id, '1');
    clock.now += 5 * 60_000 + 1;
    const updated = await resolver.policyFor('cache.test');
    assert.deepEqual([updated?.id, updated?.mode], ['2', 'testing']);
    assert.equal(fetches['mta-sts.cache.test'], 2);

    // Past max_age (3600 s) with the same id: fetched again.
    clock.now += 3_600_000 + 1;
    assert.equal((await resolver.policyFor('cache.test'))?.id, '2');
    assert.equal(fetches['mta-sts.cache.test'], 3);

    // A new id whose policy cannot be fetched: the cached policy (id 2) still applies.
    dns.zone['_mta-sts.cache.test'] = { TXT: ['v=STSv1; id=3'] };
    served['mta-sts.cache.test'] = { body: 'oops', status: 500 };
    clock.now += 5 * 60_000 + 1;
    assert.equal((await resolver.policyFor('cache.test'))?.id, '2');
    assert.equal(fetches['mta-sts.cache.test'], 4);
    // ... and the failed id is not asked for again at once (RFC 8461 section 3.3).
    assert.equal((await resolver.policyFor('cache.test'))?.id, '2');
    assert.equal(fetches['mta-sts.cache.test'], 4);

    // The TXT record removed: the cached policy stays until it expires, then none.
    dns.zone['_mta-sts.cache.test'] = {};
    clock.now += 5 * 60_000 + 1;
    assert.equal((await resolver.policyFor('cache.test'))?.id, '2');
    clock.now += 3_600_000;
    assert.equal(await resolver.policyFor('cache.test'), null);
  } finally {
    await resolver.close();
  }
});

test('no policy: a redirect, a type other than text/plain, a body over 64 KB, a certificate not for mta-sts.<domain>, two TXT records', async () => {
  const resolver = resolverAt({ now: Date.now() });
  try {
    for (const domain of ['redirect.test', 'html.test', 'big.test', 'badcert.test', 'twice.test']) {
      assert.equal(await resolver.policyFor(domain), null, domain);
    }
    assert.equal(fetches['mta-sts.redirect.test'], 1);
    assert.equal(fetches['mta-sts.badcert.test'], undefined, 'no request over TLS that does not verify');
    assert.equal(fetches['mta-sts.twice.test'], undefined);
    assert.equal(await resolver.policyFor('[127.0.0.1]'), null);
  } finally {
    await resolver.close();
  }
});

test('MAILROOM_MTA_STS=hipaa: standard mail ignores policies; HIPAA mail honours them and a testing policy never loosens its TLS; one warning per domain and id', async () => {
  const lines: string[] = [];
  const log = createLogger('warn', { write: (line: string) => void lines.push(line) });
  const policies = new MtaStsResolver({ dnsServers: [dns.address], port: httpsPort, extraCa: caCert, log });
  const engine = new SmtpEngine({ heloName: 'mailroom.test', maxConnectionsPerHost: 2, timeoutMs: 5_000, tls: 'opportunistic', verifyCertificates: false, extraCa: caCert });
  const transport = new MxTransport(new MxResolver([dns.address], smtpPort), engine, new Destinations({ concurrency: 2, ratePerSecond: 0 }), { scope: 'hipaa', policies, log });
  const message = (to: string, hipaa: boolean): OutboundMessage => ({
    messageId: `m-${to}`, accountId: 1, envelope: { from: 'lab@clinic.example', to: [to] }, returnPath: () => 'bounce@clinic.example', subject: 'Results', raw: Buffer.from('Subject: Results\r\n\r\nSee the portal.\r\n'), hipaa,
  });
  try {
    const standard = await transport.deliver(message('std@scoped.test', false));
    assert.equal(standard.recipients[0]!.outcome, 'delivered');
    assert.equal(fetches['mta-sts.scoped.test'], undefined, 'no look-up for standard mail');

    const hipaa = await transport.deliver(message('patient@scoped.test', true));
    assert.deepEqual([hipaa.recipients[0]!.outcome, hipaa.recipients[0]!.reason, hipaa.recipients[0]!.rule], ['deferred', 'tlsrequired', 'mta-sts-no-mx']);
    assert.deepEqual(receivedFor('patient@scoped.test'), []);

    // testing.test: a testing policy not naming its MX host, which has no STARTTLS: still refused for HIPAA mail.
    for (const to of ['p1@testing.test', 'p2@testing.test']) {
      const report = await transport.deliver(message(to, true));
      assert.deepEqual([report.recipients[0]!.outcome, report.recipients[0]!.reason], ['deferred', 'tlsrequired']);
      assert.deepEqual(receivedFor(to), []);
    }
    const warnings = lines.filter((line) => line.includes('testing mode'));
    assert.equal(warnings.length, 1, lines.join('\n'));
    const warning = JSON.parse(warnings[0]!) as Record<string, unknown>;
    assert.deepEqual([warning.domain, warning.policyId, warning.unlistedMxHosts], ['testing.test', '7', ['mx.testing.test']]);
    assert.doesNotMatch(warnings[0]!, /@/, 'no address in the line');
  } finally {
    await transport.close();
  }
});
