import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isPublicAddress, TargetResolver, urlProblem } from '../../src/webhooks/ssrf.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';

/**
 * Webhook and callback targets (SSRF): only http(s) to public addresses, judged on the addresses
 * a name resolves to, through a real DNS server started here (MAILROOM_DNS_SERVERS).
 */
let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({
    'hooks.example.com': { A: ['93.184.216.34'] },
    'rebind.example.com': { A: ['127.0.0.1'] },
    'inside.example.com': { A: ['10.1.2.3'] },
    'metadata.example.com': { A: ['169.254.169.254'] },
    'mixed.example.com': { A: ['93.184.216.34', '192.168.0.10'] },
    'v6loop.example.com': { AAAA: ['::1'] },
    'mapped.example.com': { AAAA: ['::ffff:7f00:1'] },
  });
});
after(async () => {
  await dns.close();
});

test('addresses: only public unicast is public', () => {
  for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) assert.equal(isPublicAddress(address), true, address);
  for (const address of ['127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '255.255.255.255', '224.0.0.1',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'ff02::1', 'not-an-ip']) {
    assert.equal(isPublicAddress(address), false, address);
  }
});

test('URL syntax: http(s), a host, no credentials', () => {
  assert.equal(urlProblem('https://hooks.example.com/mailroom?x=1'), null);
  assert.equal(urlProblem('http://hooks.example.com:8080/'), null);
  assert.match(urlProblem('ftp://hooks.example.com/')!, /http or https/);
  assert.match(urlProblem('file:///etc/passwd')!, /http or https/);
  assert.match(urlProblem('javascript:alert(1)')!, /http or https/);
  assert.match(urlProblem('hooks.example.com/path')!, /absolute/);
  assert.match(urlProblem('https://user:pass@hooks.example.com/')!, /user name or password/);
});

test('a name is refused when any of its addresses is private, loopback or link-local', async () => {
  const resolver = new TargetResolver([dns.address], false);
  assert.equal(await resolver.check('https://hooks.example.com/in'), null);
  assert.match((await resolver.check('http://rebind.example.com/'))!, /resolves to 127\.0\.0\.1, which is not a public address/);
  assert.match((await resolver.check('http://inside.example.com/'))!, /10\.1\.2\.3/);
  assert.match((await resolver.check('http://metadata.example.com/latest/meta-data'))!, /169\.254\.169\.254/);
  assert.match((await resolver.check('http://mixed.example.com/'))!, /192\.168\.0\.10/);
  assert.match((await resolver.check('http://v6loop.example.com/'))!, /::1/);
  assert.match((await resolver.check('http://mapped.example.com/'))!, /mapped.example.com resolves to ::ffff:127.0.0.1, which is not a public address/, 'IPv4-mapped 127.0.0.1');
  assert.match((await resolver.check('http://127.0.0.1:3000/'))!, /127\.0\.0\.1/);
  assert.match((await resolver.check('http://[::1]/'))!, /::1/);
  assert.match((await resolver.check('http://0x7f000001/'))!, /127\.0\.0\.1/, 'the URL parser turns 0x7f000001 into 127.0.0.1');
  assert.match((await resolver.check('http://nowhere.example.com/'))!, /no address|cannot be resolved/);
});

test('a refusal for a non-public address names the setting that allows it; one for a host that does not exist does not', async () => {
  const resolver = new TargetResolver([dns.address], false);
  for (const url of ['http://rebind.example.com/', 'http://127.0.0.1:3000/', 'http://localhost/', 'http://[::1]/']) {
    assert.match((await resolver.check(url))!, /; private addresses need MAILROOM_ALLOW_PRIVATE_CALLBACKS=1$/, url);
  }
  assert.doesNotMatch((await resolver.check('http://nowhere.example.com/'))!, /MAILROOM_ALLOW_PRIVATE_CALLBACKS/);
  assert.doesNotMatch(urlProblem('ftp://hooks.example.com/')!, /MAILROOM_ALLOW_PRIVATE_CALLBACKS/);
});

test('MAILROOM_ALLOW_PRIVATE_CALLBACKS lets private targets through (tests, receivers inside the network)', async () => {
  const resolver = new TargetResolver([dns.address], true);
  assert.equal(await resolver.check('http://rebind.example.com/'), null);
  assert.equal(await resolver.check('http://127.0.0.1:3000/'), null);
  assert.match((await resolver.check('ftp://127.0.0.1/'))!, /http or https/);
});
