import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isPublicAddress, TargetResolver } from '../../src/webhooks/ssrf.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer.js';

/**
 * Which addresses a webhook or callback may reach (SSRF), table-driven: every IPv6 form that
 * carries an IPv4 address is judged by that address too, every non-public range of either family
 * is refused, and the odd spellings a URL parser turns into an address are refused as the address
 * they become. Public controls must pass, or the check would refuse everything.
 */

const PUBLIC = [
  // IPv4, including the first and last addresses next to non-public ranges.
  '93.184.216.34', '8.8.8.8', '1.1.1.1', '1.0.0.0', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255',
  '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.255', '192.0.3.0', '192.88.98.255',
  '192.88.100.0', '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '198.51.99.255', '198.51.101.0',
  '203.0.112.255', '203.0.114.0', '223.255.255.255',
  // IPv6 global unicast.
  '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '2001:4860:4860::8888', '2620:fe::fe', '3ffe::1',
  // IPv6 forms carrying a public IPv4 address.
  '::ffff:8.8.8.8', '::ffff:5db8:d822', '::8.8.8.8', '::ffff:0:8.8.8.8', '64:ff9b::8.8.8.8', '64:ff9b::5db8:d822', '64:ff9b:1::8.8.8.8',
  '2002:808:808::1', '2002:5db8:d822:1::abcd',
  // Teredo: server 65.54.227.120, client 8.8.8.8 (its last 32 bits inverted: f7f7:f7f7).
  '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
];

const NOT_PUBLIC = [
  // IPv4 ranges that no public receiver has.
  '0.0.0.0', '0.1.2.3', '0.255.255.255', '10.0.0.0', '10.1.2.3', '10.255.255.255', '100.64.0.0', '100.100.100.100', '100.127.255.255',
  '127.0.0.1', '127.8.9.10', '127.255.255.255', '169.254.0.1', '169.254.169.254', '172.16.0.0', '172.16.5.4', '172.31.255.255',
  '192.0.0.0', '192.0.0.8', '192.0.0.255', '192.0.2.1', '192.88.99.1', '192.168.0.1', '192.168.255.255', '198.18.0.1',
  '198.19.255.255', '198.51.100.7', '203.0.113.9', '224.0.0.1', '239.255.255.250', '240.0.0.1', '250.1.2.3', '255.255.255.255',
  // IPv6 special addresses and ranges.
  '::', '::1', '0:0:0:0:0:0:0:1', 'fe80::1', 'febf:ffff::1', 'fec0::1', 'feff::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', 'ff0e::1',
  '2001:db8::1', '2001:db8:ffff::1', '100::1', '100::ffff:ffff:ffff:ffff', '2001:2::1', '2001:10::1', '2001:20::1', '2001:2f::1',
  '2001::1', '2001:1ff::1', '3fff::1', '5f00::1', '4000::1', '1::1', '8000::1', 'e000::1',
  // IPv4-mapped (::ffff:0:0/96).
  '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:100.64.0.1', '::ffff:0.0.0.0', '::ffff:255.255.255.255',
  // IPv4-compatible (::/96, deprecated).
  '::127.0.0.1', '::7f00:1', '::10.0.0.1', '::169.254.169.254', '::192.168.1.1', '::0.0.0.2',
  // IPv4-translated (::ffff:0:0:0/96).
  '::ffff:0:127.0.0.1', '::ffff:0:7f00:1', '::ffff:0:10.1.2.3',
  // NAT64 well-known prefix and local-use prefix.
  '64:ff9b::127.0.0.1', '64:ff9b::7f00:1', '64:ff9b::10.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::127.0.0.1', '64:ff9b:1::c0a8:101',
  '64:ff9b:1:7f00:1::', '64:ff9b::1:0:0:808:808',
  // 6to4 (2002::/16) with a non-public IPv4 in bits 16-48.
  '2002:7f00:1::1', '2002:a00:1::', '2002:c0a8:101::1', '2002:a9fe:a9fe::1', '2002::1', '2002:e000:1::1',
  // Teredo (2001::/32): a non-public client (last 32 bits inverted) or server (bits 32-64).
  '2001:0:4136:e378:8000:63bf:80ff:fffe', '2001:0:4136:e378:8000:63bf:f5ff:fffe', '2001:0:a00:1:8000:63bf:f7f7:f7f7', '2001:0:7f00:1:0:0:f7f7:f7f7',
  // Not addresses at all, or spellings a connection would read differently.
  'not-an-ip', '', '127.1', '0x7f.0.0.1', '2130706433', '0177.0.0.1', '010.0.0.1', 'fe80::1%eth0', '[::1]', ' 8.8.8.8',
];

test('public addresses pass, every non-public one and every IPv4 hidden in IPv6 is refused', () => {
  const wrong = [
    ...PUBLIC.filter((address) => !isPublicAddress(address)).map((address) => `${address} should be public`),
    ...NOT_PUBLIC.filter((address) => isPublicAddress(address)).map((address) => `${address} should not be public`),
  ];
  assert.deepEqual(wrong, []);
});

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({
    'public.example.com': { A: ['93.184.216.34'], AAAA: ['2606:2800:220:1:248:1893:25c8:1946'] },
    'compat.example.com': { AAAA: ['::127.0.0.1'] },
    'nat64.example.com': { AAAA: ['64:ff9b::a00:1'] },
    'sixtofour.example.com': { AAAA: ['2002:7f00:1::1'] },
    'teredo.example.com': { AAAA: ['2001:0:4136:e378:8000:63bf:80ff:fffe'] },
    'ula.example.com': { AAAA: ['fd00::1'] },
    'cgnat.example.com': { A: ['100.64.1.1'] },
    'localhost': { A: ['93.184.216.34'] },
    'app.localhost': { A: ['93.184.216.34'] },
  });
});
after(async () => {
  await dns.close();
});

/** URL spellings that the WHATWG URL parser (new URL, and so undici) turns into a non-public address. */
const REFUSED_URLS: [url: string, normalisedHost: string | null][] = [
  ['http://2130706433/', '127.0.0.1'],
  ['http://0x7f.1/', '127.0.0.1'],
  ['http://127.1/', '127.0.0.1'],
  ['http://0177.0.0.1/', '127.0.0.1'],
  ['http://0x7f000001/', '127.0.0.1'],
  ['http://0x7F.0.0.1:8080/path', '127.0.0.1'],
  ['http://017700000001/', '127.0.0.1'],
  ['http://127.0.0.1./', '127.0.0.1'],
  ['http://%31%32%37.0.0.1/', '127.0.0.1'],
  ['http://\uFF11\uFF12\uFF17.0.0.1/', '127.0.0.1'],
  ['http://0/', '0.0.0.0'],
  ['http://10.1/', '10.0.0.1'],
  ['http://3232235777/', '192.168.1.1'],
  ['http://0xa9fea9fe/latest/meta-data', '169.254.169.254'],
  ['http://100.64.0.1/', '100.64.0.1'],
  ['http://[::127.0.0.1]/', '[::7f00:1]'],
  ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
  ['http://[0:0:0:0:0:ffff:7f00:1]/', '[::ffff:7f00:1]'],
  ['http://[::ffff:0:127.0.0.1]/', '[::ffff:0:7f00:1]'],
  ['http://[64:ff9b::169.254.169.254]/', '[64:ff9b::a9fe:a9fe]'],
  ['http://[64:ff9b:1::10.0.0.1]/', '[64:ff9b:1::a00:1]'],
  ['http://[2002:7f00:1::1]/', '[2002:7f00:1::1]'],
  ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', '[2001:0:4136:e378:8000:63bf:80ff:fffe]'],
  ['http://[::]/', '[::]'],
  ['http://[::1]:3000/', '[::1]'],
  ['http://[fe80::1]/', '[fe80::1]'],
  ['http://[fd00::1]/', '[fd00::1]'],
  ['http://[2001:db8::1]/', '[2001:db8::1]'],
  ['http://[fe80::1%25eth0]/', null],
  // Names: resolved (through the test DNS server) to addresses hidden in IPv6, or reserved for loopback.
  ['http://compat.example.com/', 'compat.example.com'],
  ['http://nat64.example.com/', 'nat64.example.com'],
  ['http://sixtofour.example.com/', 'sixtofour.example.com'],
  ['http://teredo.example.com/', 'teredo.example.com'],
  ['http://ula.example.com/', 'ula.example.com'],
  ['http://cgnat.example.com/', 'cgnat.example.com'],
  ['http://localhost/', 'localhost'],
  ['http://LOCALHOST./', 'localhost.'],
  ['http://app.localhost/', 'app.localhost'],
];

test('odd spellings are refused as the address the URL parser makes of them', async () => {
  const resolver = new TargetResolver([dns.address], false);
  const accepted: string[] = [];
  for (const [url, host] of REFUSED_URLS) {
    if (host !== null) assert.equal(new URL(url).hostname, host, `new URL normalises ${url}`);
    if ((await resolver.check(url)) === null) accepted.push(url);
  }
  assert.deepEqual(accepted, [], 'refused');
});

test('public URLs pass: literal addresses of both families and names that resolve to public addresses', async () => {
  const resolver = new TargetResolver([dns.address], false);
  for (const url of ['http://93.184.216.34/hook', 'https://8.8.8.8:8443/', 'http://1572395042/', 'http://[2606:4700:4700::1111]/', 'http://[::ffff:8.8.8.8]/',
    'http://[64:ff9b::8.8.8.8]/', 'http://[2002:808:808::1]/', 'http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/', 'https://public.example.com/in']) {
    assert.equal(await resolver.check(url), null, url);
  }
});

test('the reason names the address that was refused', async () => {
  const resolver = new TargetResolver([dns.address], false);
  assert.match((await resolver.check('http://[::127.0.0.1]/'))!, /::7f00:1.*127\.0\.0\.1/);
  assert.match((await resolver.check('http://[2002:a00:1::1]/'))!, /10\.0\.0\.1/);
  assert.match((await resolver.check('http://teredo.example.com/'))!, /127\.0\.0\.1/);
  assert.match((await resolver.check('http://localhost/'))!, /localhost/);
});
