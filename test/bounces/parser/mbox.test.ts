import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitMbox } from '../../../src/bounces/parser/mbox.js';

const texts = (raw: string) => splitMbox(Buffer.from(raw, 'latin1')).map((message) => message.toString('latin1'));

test('a file without a "From " separator first is one message, returned as it is', () => {
  const raw = Buffer.from('From: a@example.com\nSubject: x\n\nFrom here on, a body.\n');
  assert.deepEqual(splitMbox(raw), [raw]);
});

test('separators split; quoted "From " lines lose one ">"; the blank line before a separator is the mbox\'s', () => {
  const mbox = [
    'From MAILER-DAEMON Mon Dec  7 10:00:00 2026',
    'Subject: one',
    '',
    '>From the start of a line, quoted',
    '>>From twice quoted (mboxrd)',
    '',
    'From postmaster@example.org Tue Dec  8 11:22:33 2026',
    'Subject: two',
    '',
    'From the body, unquoted (mboxo): no date, no separator',
    '',
  ].join('\n');
  assert.deepEqual(texts(mbox), [
    'Subject: one\n\nFrom the start of a line, quoted\n>From twice quoted (mboxrd)\n',
    'Subject: two\n\nFrom the body, unquoted (mboxo): no date, no separator\n',
  ]);
});

test('CRLF mboxes split the same way, and bytes that are not UTF-8 are kept', () => {
  const mbox = Buffer.concat([
    Buffer.from('From - Mon Dec  7 10:00:00 2026\r\nSubject: \xe9t\xe9\r\n\r\nbody\r\n\r\n', 'latin1'),
    Buffer.from('From - Mon Dec  7 10:00:01 2026\r\nSubject: two\r\n\r\nbody\r\n', 'latin1'),
  ]);
  const [first, second] = splitMbox(mbox);
  assert.equal(first!.toString('latin1'), 'Subject: \xe9t\xe9\r\n\r\nbody\r\n');
  assert.equal(second!.toString('latin1'), 'Subject: two\r\n\r\nbody\r\n');
});
