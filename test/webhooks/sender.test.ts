import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { TargetResolver } from '../../src/webhooks/ssrf.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';

/** The HTTP side of a webhook delivery, against real servers on loopback. */
let server: http.Server;
let base: string;
let dns: TestDnsServer;
const hits: string[] = [];
before(async () => {
  server = http.createServer((request, response) => {
    hits.push(request.url ?? '');
    request.resume();
    request.on('end', () => {
      if (request.url === '/silent') return; // never answers
      if (request.url === '/redirect') {
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
        return response.end();
      }
      if (request.url === '/big') {
        response.writeHead(500);
        return response.end('x'.repeat(100_000));
      }
      response.writeHead(200);
      response.end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dns = await startDnsServer({ 'rebind.example.com': { A: ['127.0.0.1'] } });
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await dns.close();
});

test('a 2xx is a success; the answer is kept', async () => {
  const sender = new WebhookSender(new TargetResolver([], true), true);
  const outcome = await sender.post(`${base}/ok`, '{}', {});
  sender.close();
  assert.equal(outcome.ok, true);
  assert.equal(outcome.statusCode, 200);
  assert.equal(outcome.response, 'thanks');
});

test('a redirect is a failure and is not followed', async () => {
  const sender = new WebhookSender(new TargetResolver([], true), true);
  const before = hits.length;
  const outcome = await sender.post(`${base}/redirect`, '{}', {});
  sender.close();
  assert.equal(outcome.ok, false);
  assert.equal(outcome.statusCode, 302);
  assert.equal(hits.length, before + 1, 'one request, no second one to the Location');
});

test('only the first kilobyte of an answer is kept', async () => {
  const sender = new WebhookSender(new TargetResolver([], true), true);
  const outcome = await sender.post(`${base}/big`, '{}', {});
  sender.close();
  assert.equal(outcome.ok, false);
  assert.equal(outcome.response.length, 1024);
});

test('a receiver that does not answer in time is a failure, not a hang', async () => {
  const sender = new WebhookSender(new TargetResolver([], true), true, 300);
  const outcome = await sender.post(`${base}/silent`, '{}', {});
  sender.close();
  assert.equal(outcome.ok, false);
  assert.equal(outcome.statusCode, null);
  assert.match(outcome.error!, /no answer within 0\.3 s/);
  assert.ok(outcome.durationMs >= 290 && outcome.durationMs < 5_000, `${outcome.durationMs} ms`);
});

test('a refused target is never contacted: a literal private address, and a name that resolves to one at send time', async () => {
  const sender = new WebhookSender(new TargetResolver([dns.address], false), false);
  const before = hits.length;
  const literal = await sender.post(`${base}/ok`, '{}', {});
  const port = new URL(base).port;
  const rebound = await sender.post(`http://rebind.example.com:${port}/ok`, '{}', {});
  sender.close();
  assert.equal(hits.length, before, 'nothing reached the loopback server');
  for (const outcome of [literal, rebound]) {
    assert.equal(outcome.ok, false);
    assert.equal(outcome.refused, true);
    assert.match(outcome.error!, /127\.0\.0\.1.*not a public address/);
  }
});

test('an unreachable receiver is a failure with the reason', async () => {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const sender = new WebhookSender(new TargetResolver([], true), true);
  const outcome = await sender.post(`http://127.0.0.1:${port}/`, '{}', {});
  sender.close();
  assert.equal(outcome.ok, false);
  assert.equal(outcome.refused, false);
  assert.match(outcome.error!, /ECONNREFUSED/);
});
