import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { KeyRing } from '../../src/crypto/keyring.js';
import type { FoundLink } from '../../src/linkcheck/extract.js';
import { LinkChecker } from '../../src/linkcheck/linkCheck.js';
import { TrackingLinks } from '../../src/tracking/links.js';
import { TargetResolver } from '../../src/webhooks/ssrf.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';

/**
 * The sandbox's link check against a real HTTP server on loopback and a DNS server of the test's:
 * what each kind of answer comes to, redirects followed by hand, HEAD refused then GET, a body never
 * read, time-outs, private addresses refused before any connection (the SSRF rules of webhooks),
 * Mailroom's own tracking links, and how many requests run at once.
 */
let server: Server;
let origin: string;
let dns: TestDnsServer;
const requests: string[] = [];
let inFlight = 0;
let mostInFlight = 0;

before(async () => {
  dns = await startDnsServer({ 'internal.test': { A: ['10.1.2.3'] }, 'gone.test': { rcode: 'NXDOMAIN' } });
  server = createServer((request, response) => {
    const path = request.url ?? '/';
    requests.push(`${request.method} ${path}`);
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    response.on('close', () => inFlight--);
    if (path === '/ok') return void response.end('fine');
    if (path === '/missing') return void response.writeHead(404).end('no');
    if (path === '/no-head') return void response.writeHead(request.method === 'HEAD' ? 405 : 200).end();
    if (path === '/redirect') return void response.writeHead(302, { location: '/hop' }).end();
    if (path === '/hop') return void response.writeHead(301, { location: `${origin}/ok` }).end();
    if (path === '/loop') return void response.writeHead(302, { location: '/loop' }).end();
    if (path === '/slow') return; // never answers
    if (path.startsWith('/busy')) return void setTimeout(() => response.end('done'), 50);
    if (path === '/download') {
      // An endless body: the check must take the status and leave.
      // Refuses HEAD, as many download servers do.
      if (request.method === 'HEAD') return void response.writeHead(403).end();
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
      };
      response.on('drain', pump);
      return void pump();
    }
    response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await dns.close();
});

const link = (url: string): FoundLink => ({ url, kind: 'link', text: null });
const open = (allowPrivate: boolean, links: TrackingLinks | null = null, timeoutMs = 1_000, perCheck = 6) =>
  new LinkChecker(new TargetResolver([dns.address], allowPrivate), links, { timeoutMs, perCheck, overall: 16 });

test('each kind of answer: 2xx ok, 4xx broken, redirects followed to the end, HEAD refused then GET, a redirect loop cut off', async () => {
  const checker = open(true);
  try {
    const results = await checker.check(['/ok', '/missing', '/redirect', '/no-head', '/loop'].map((path) => link(`${origin}${path}`)));
    const [ok, missing, redirected, noHead, loop] = results;
    assert.deepEqual([ok!.verdict, ok!.statusCode, ok!.redirects, ok!.finalUrl], ['ok', 200, 0, null]);
    assert.deepEqual([missing!.verdict, missing!.statusCode, missing!.reason], ['broken', 404, 'answered 404']);
    assert.deepEqual([redirected!.verdict, redirected!.redirects, redirected!.finalUrl], ['ok', 2, `${origin}/ok`]);
    assert.deepEqual([noHead!.verdict, noHead!.statusCode], ['ok', 200]);
    assert.equal(loop!.verdict, 'broken');
    assert.match(loop!.reason ?? '', /more than 5 redirects/);
    assert.ok(requests.includes('HEAD /no-head') && requests.includes('GET /no-head'), 'HEAD first, then GET');
  } finally {
    await checker.close();
  }
});

test('a body is never read, and a server that does not answer is unreachable after the time-out', async () => {
  const checker = open(true, null, 500);
  try {
    const started = performance.now();
    const [download, slow] = await checker.check([link(`${origin}/download`), link(`${origin}/slow`)]);
    assert.deepEqual([download!.verdict, download!.statusCode], ['ok', 200]);
    assert.equal(slow!.verdict, 'unreachable');
    assert.match(slow!.reason ?? '', /no answer within 0.5 s/);
    assert.ok(performance.now() - started < 5_000, 'neither the endless body nor the silent server held the check');
  } finally {
    await checker.close();
  }
});

test('private targets are refused before any connection, as webhooks are; a name that does not exist is unreachable', async () => {
  const checker = open(false);
  const before = requests.length;
  try {
    const results = await checker.check([
      link(`${origin}/ok`), link(`http://localhost:${new URL(origin).port}/ok`), link('http://internal.test/'), link('http://[::ffff:127.0.0.1]/'),
      link('http://gone.test/'),
    ]);
    assert.deepEqual(results.map((result) => result.verdict), ['refused', 'refused', 'refused', 'refused', 'unreachable']);
    assert.match(results[2]!.reason ?? '', /10\.1\.2\.3/);
    assert.match(results[4]!.reason ?? '', /^gone\.test cannot be resolved|^gone\.test has no address/);
    assert.equal(requests.length, before, 'nothing reached the server');
  } finally {
    await checker.close();
  }
});

test("Mailroom's tracking links: a click's target is checked, never the tracking URL; opens and unsubscribes are skipped, as other schemes", async () => {
  const tracking = new TrackingLinks(new KeyRing(Buffer.alloc(32, 3)), 'http://mailroom.test');
  const checker = open(true, tracking);
  try {
    const results = await checker.check([
      link(tracking.clickUrl('msg1', 0, `${origin}/redirect`)), link(tracking.openUrl('msg1')), link(tracking.unsubscribeUrl('msg1')),
      link('mailto:help@shop.example'), link('cid:logo'),
      // Not signed by this installation: just another URL (and mailroom.test does not resolve).
      link('http://mailroom.test/t/c/msg1/0/aHR0cDovL3gu/AAAAAAAAAAAAAAAAAAAAAA'),
    ]);
    assert.deepEqual(results.map((result) => result.verdict), ['ok', 'skipped', 'skipped', 'skipped', 'skipped', 'unreachable']);
    assert.equal(results[0]!.trackedTarget, `${origin}/redirect`);
    assert.equal(results[0]!.finalUrl, `${origin}/ok`);
    assert.match(results[1]!.reason ?? '', /count an open/);
  } finally {
    await checker.close();
  }
});

test('at most perCheck requests of one check at once, and the results in the order of the links', async () => {
  const checker = open(true, null, 2_000, 3);
  mostInFlight = 0;
  try {
    const links = Array.from({ length: 12 }, (_, i) => link(`${origin}/busy/${i}`));
    const results = await checker.check(links);
    assert.deepEqual(results.map((result) => result.url), links.map((entry) => entry.url));
    assert.ok(results.every((result) => result.verdict === 'ok'), 'every one answered');
    assert.ok(mostInFlight <= 3 && mostInFlight >= 2, `at most 3 at once (saw ${mostInFlight})`);
  } finally {
    await checker.close();
  }
});
