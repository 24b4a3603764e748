import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldValue, findField, newField, normalizeLineEnds, parseRawMessage, writeRawMessage } from '../../src/sending/rawMessage.js';

test('line ends: bare LF becomes CRLF, CRLF is left alone, an unterminated last line is ended; the longest line is measured', () => {
  const same = Buffer.from('a\r\nbb\r\n');
  assert.equal(normalizeLineEnds(same).bytes, same, 'no copy when nothing changes');
  assert.equal(normalizeLineEnds(same).longestLine, 2);
  assert.equal(normalizeLineEnds(Buffer.from('a\nbbb\r\ncc\n')).bytes.toString(), 'a\r\nbbb\r\ncc\r\n');
  assert.equal(normalizeLineEnds(Buffer.from('a\nbbb\r\ncc\n')).longestLine, 3);
  assert.deepEqual(normalizeLineEnds(Buffer.from('x\r\nlast')), { bytes: Buffer.from('x\r\nlast\r\n'), longestLine: 4 });
  assert.equal(normalizeLineEnds(Buffer.from(`${'z'.repeat(1200)}\n`)).longestLine, 1200);
});

test('header fields keep their bytes and folding; the body is untouched; writing back gives the same message', () => {
  const raw = Buffer.from('From: A <a@example.com>\r\nSubject: a long\r\n subject\r\nX-Bin: \xe9t\xe9\r\n\r\nbody\r\n\r\nmore\r\n', 'latin1');
  const parsed = parseRawMessage(raw);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.message.fields.map((field) => field.key), ['from', 'subject', 'x-bin']);
  assert.equal(findField(parsed.message, 'subject')!.raw, 'Subject: a long\r\n subject\r\n');
  assert.equal(parsed.message.body.toString(), 'body\r\n\r\nmore\r\n');
  assert.deepEqual(writeRawMessage(parsed.message.fields, parsed.message.body), raw);
});

test('a message with no body, or no header block, is parsed; a line that is no field is a problem', () => {
  const headersOnly = parseRawMessage(Buffer.from('From: a@example.com\r\n'));
  assert.ok(headersOnly.ok && headersOnly.message.fields.length === 1 && headersOnly.message.body.length === 0);
  const bodyOnly = parseRawMessage(Buffer.from('\r\njust a body\r\n'));
  assert.ok(bodyOnly.ok && bodyOnly.message.fields.length === 0 && bodyOnly.message.body.toString() === 'just a body\r\n');
  for (const bad of [' folded first: x\r\n\r\n', 'From: a@example.com\r\nno colon here\r\n\r\n', ': empty name\r\n\r\n', 'Bad Name: x\r\n\r\n']) {
    const result = parseRawMessage(Buffer.from(bad));
    assert.equal(result.ok, false, JSON.stringify(bad));
  }
});

test('field values: unfolded, RFC 2047 words decoded, raw UTF-8 (RFC 6532) read as UTF-8', () => {
  const parsed = parseRawMessage(Buffer.from('Subject: =?UTF-8?B?R3LDvMOfZQ==?= and\r\n =?ISO-8859-1?Q?K=F6ln?=\r\nX-Utf8: Zoë\r\n\r\n', 'utf8'));
  assert.ok(parsed.ok);
  assert.equal(fieldValue(findField(parsed.message, 'subject')!), 'Grüße and Köln');
  assert.equal(fieldValue(findField(parsed.message, 'x-utf8')!), 'Zoë');
});

test('new fields are folded at 76 characters and end with CRLF', () => {
  const field = newField('Message-ID', `<${'m'.repeat(30)}@example.com>`);
  assert.equal(field.key, 'message-id');
  assert.match(field.raw, /^Message-ID: <m+@example\.com>\r\n$/);
  const long = newField('X-Long', Array.from({ length: 30 }, (_, index) => `word${index}`).join(' '));
  assert.ok(long.raw.split('\r\n').every((line) => line.length <= 78), long.raw);
  assert.ok(long.raw.endsWith('\r\n') && !long.raw.endsWith('\r\n\r\n'));
});
