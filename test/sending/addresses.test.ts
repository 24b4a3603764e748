import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMailbox } from '../../src/sending/addresses.js';
import { looksLikeHtml } from '../../src/sending/render.js';

const VALID: [string, string, string][] = [
  ['john.doe@example.com', 'john.doe@example.com', 'example.com'],
  ['John Doe <john@example.com>', 'john@example.com', 'example.com'],
  ['"Doe, John" <john@example.com>', 'john@example.com', 'example.com'],
  ['user+tag@sub.example.co.uk', 'user+tag@sub.example.co.uk', 'sub.example.co.uk'],
  ['o\'brien@example.ie', "o'brien@example.ie", 'example.ie'],
  ['info@bücher.de', 'info@bücher.de', 'xn--bcher-kva.de'],
  ['Zoë <zoe@example.com>', 'zoe@example.com', 'example.com'],
];
for (const [input, address, domain] of VALID) {
  test(`valid: ${input}`, () => {
    const parsed = parseMailbox(input);
    assert.equal(typeof parsed, 'object', String(parsed));
    assert.equal((parsed as { address: string }).address, address);
    assert.equal((parsed as { domain: string }).domain, domain);
  });
}

const INVALID = [
  'plainaddress', '@example.com', 'john@', 'john@@example.com', 'john doe@example.com', 'john@example',
  'john@exa mple.com', 'john@-example.com', 'john@example.123', `${'a'.repeat(65)}@example.com`,
  'john..doe@example.com', '.john@example.com', 'a@b.com, c@d.com', 'Group: a@b.com;', 'john@example.com\r\nBcc: x@y.com',
  'John <john@example.com', '', 'john@exam_ple.com',
];
for (const input of INVALID) {
  test(`invalid: ${JSON.stringify(input)}`, () => {
    assert.equal(typeof parseMailbox(input), 'string');
  });
}

test('HTML detection: markup is HTML, prose with angle brackets is not', () => {
  assert.equal(looksLikeHtml('<p>Hello</p>'), true);
  assert.equal(looksLikeHtml('<!DOCTYPE html><html><body>x</body></html>'), true);
  assert.equal(looksLikeHtml('Line one<br>Line two'), true);
  assert.equal(looksLikeHtml('if a < b and c > d then'), false);
  assert.equal(looksLikeHtml('Reply to <john@example.com>'), false);
  assert.equal(looksLikeHtml('we have a new offer this week'), false);
});
