import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRange } from '../../src/accounts/ipRanges.js';

test('ranges are canonical: host bits cleared, IPv4-mapped IPv6 as IPv4, one spelling per range', () => {
  const cases: [string, string][] = [
    ['10.1.2.3', '10.1.2.3/32'],
    [' 10.1.2.3/16 ', '10.1.0.0/16'],
    ['1.2.3.4/032', '1.2.3.4/32'],
    ['::ffff:10.1.2.3', '10.1.2.3/32'],
    ['::ffff:a17:101', '10.23.1.1/32'],
    ['::ffff:10.23.0.0/112', '10.23.0.0/16'],
    ['::FFFF:10.23.4.5/120', '10.23.4.0/24'],
    ['::ffff:0.0.0.0/96', '0.0.0.0/0'],
    ['2001:0DB8:0001::1/48', '2001:db8:1::/48'],
    ['2001:db8::1', '2001:db8::1/128'],
    ['::/0', '::/0'],
  ];
  for (const [input, canonical] of cases) assert.equal(parseRange(input)?.text, canonical, input);
  assert.deepEqual(parseRange('::ffff:10.23.0.0/112'), { family: 4, bits: 16, text: '10.23.0.0/16' });
  // A mapped IPv6 range wider than the mapped space is no IPv4 range: it stays IPv6.
  assert.equal(parseRange('::ffff:0:0/95')?.family, 6);
});

test('what is no range, or not plainly one, is refused', () => {
  for (const input of ['', 'example.com', '10.0.0.0/33', '10.0.0.0/', '/8', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/ 8', '10.60.0', '127.1', '0x7f.0.0.1', '010.1.1.1', 'fe80::1%eth0', 'fe80::1%eth0/64', '2001:db8::/129']) {
    assert.equal(parseRange(input), null, JSON.stringify(input));
  }
});
