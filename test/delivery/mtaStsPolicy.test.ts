import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mxMatches, parsePolicy, parseStsRecord } from '../../src/delivery/mtaSts.js';

/** The MTA-STS parsers (RFC 8461 sections 3.1, 3.2 and 4.1) on well-formed and malformed input. */

test('a policy with CRLF or LF line ends, several mx lines, unknown keys ignored', () => {
  const crlf = 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\nmax_age: 604800\r\nreport_to: nobody\r\n';
  const lf = crlf.replace(/\r\n/g, '\n');
  const expected = { mode: 'enforce', mx: ['mail.example.com', '*.example.net'], maxAgeSeconds: 604800 };
  assert.deepEqual(parsePolicy(crlf), expected);
  assert.deepEqual(parsePolicy(lf), expected);
  // Spaces after the colon and at the end of a line; no final line end.
  assert.deepEqual(parsePolicy('version:STSv1\nmode:   testing \t\nmx:mx.example.com\nmax_age: 0'), { mode: 'testing', mx: ['mx.example.com'], maxAgeSeconds: 0 });
});

test('a policy missing its version, or with another version, mode or max_age, is invalid', () => {
  const body = (lines: string[]) => lines.join('\r\n');
  assert.throws(() => parsePolicy(body(['mode: enforce', 'mx: mx.example.com', 'max_age: 86400'])), /version/);
  assert.throws(() => parsePolicy(body(['version: STSv2', 'mode: enforce', 'mx: mx.example.com', 'max_age: 86400'])), /version/);
  assert.throws(() => parsePolicy(body(['Version: STSv1', 'mode: enforce', 'mx: mx.example.com', 'max_age: 86400'])), /version/, 'field names are case-sensitive');
  assert.throws(() => parsePolicy(body(['version: STSv1', 'mode: Enforce', 'mx: mx.example.com', 'max_age: 86400'])), /mode/);
  assert.throws(() => parsePolicy(body(['version: STSv1', 'mx: mx.example.com', 'max_age: 86400'])), /mode/);
  assert.throws(() => parsePolicy(body(['version: STSv1', 'mode: enforce', 'mx: mx.example.com'])), /max_age/);
  assert.throws(() => parsePolicy(body(['version: STSv1', 'mode: enforce', 'mx: mx.example.com', 'max_age: -1'])), /max_age/);
  assert.throws(() => parsePolicy(body(['version: STSv1', 'mode: enforce', 'mx: mx.example.com', 'max_age: 12345678901'])), /max_age/, 'at most 10 digits');
  assert.throws(() => parsePolicy(body(['version: STSv1', 'mode: enforce', 'max_age: 86400'])), /mx/, 'enforce needs mx');
  assert.throws(() => parsePolicy(body(['version: STSv1', 'mode: testing', 'mx: mx example com', 'max_age: 86400'])), /mx/);
  assert.throws(() => parsePolicy('<html><body>Not found</body></html>'), /malformed/);
  assert.throws(() => parsePolicy(''), /version/);
});

test('max_age is capped at a year; mode none needs no mx; a repeated key counts at its first occurrence', () => {
  assert.equal(parsePolicy('version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n').maxAgeSeconds, 31_557_600);
  assert.equal(parsePolicy('version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n').maxAgeSeconds, 31_557_600);
  assert.deepEqual(parsePolicy('version: STSv1\nmode: none\nmax_age: 86400\n'), { mode: 'none', mx: [], maxAgeSeconds: 86400 });
  assert.equal(parsePolicy('version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 60\nmax_age: 120\n').mode, 'testing');
});

test('the TXT record: one v=STSv1 record with an id, its strings joined; anything else is no policy', () => {
  assert.equal(parseStsRecord([['v=STSv1; id=20160831085700Z;']]), '20160831085700Z');
  assert.equal(parseStsRecord([['v=STSv1;id=abc123']]), 'abc123');
  assert.equal(parseStsRecord([['v=STSv1; id=20160831', '085700Z']]), '20160831085700Z', 'strings joined without spaces');
  assert.equal(parseStsRecord([['v=spf1 -all'], ['v=STSv1; id=1; ext=value']]), '1', 'other records and unknown fields ignored');
  assert.equal(parseStsRecord([]), null);
  assert.equal(parseStsRecord([['v=STSv1; id=1'], ['v=STSv1; id=2']]), null, 'two records: no policy');
  assert.equal(parseStsRecord([['v=STSv1']]), null, 'no id');
  assert.equal(parseStsRecord([['v=STSv1; id=not-alphanumeric']]), null);
  assert.equal(parseStsRecord([['v=STSv1; id=' + 'a'.repeat(33)]]), null, 'id of at most 32 characters');
  assert.equal(parseStsRecord([['v=STSv1; id=1; garbage']]), null, 'a field without a value');
  assert.equal(parseStsRecord([['v=STSv10; id=1']]), null);
  assert.equal(parseStsRecord([[' v=STSv1; id=1']]), null);
});

test('mx patterns: a name matches itself; "*." stands for exactly one left-most label', () => {
  assert.ok(mxMatches(['mail.example.com'], 'MAIL.example.com.'));
  assert.ok(!mxMatches(['mail.example.com'], 'mail2.example.com'));
  assert.ok(mxMatches(['*.example.com'], 'mail.example.com'));
  assert.ok(!mxMatches(['*.example.com'], 'example.com'));
  assert.ok(!mxMatches(['*.example.com'], 'foo.bar.example.com'));
  assert.ok(!mxMatches(['*.example.com'], 'mail.badexample.com'));
  assert.ok(mxMatches(['mx.other.net', '*.example.com'], 'mx1.example.com'));
  assert.ok(!mxMatches([], 'mail.example.com'));
});
