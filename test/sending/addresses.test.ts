import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asciiDomain, checkAddress, parseMailbox } from '../../src/sending/addresses.js';
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

/**
 * Control and invisible characters are refused anywhere in an address, never stripped: IDNA
 * (domainToASCII) drops CR, LF, TAB, zero-width and other ignorable characters from a domain, and
 * addressparser drops some from a display name, so the text stored would not be the one checked.
 */
const HIDDEN_CHARACTERS = [
  'a@example.com\r\nx', 'a@exa\r\nmple.com', 'a@example.com\t', '\ta@example.com', 'a@exa\tmple.com', 'a@example.com\n', 'a\u0000@example.com',
  'a\u0007@example.com', 'a@exa\u0008mple.com', 'a\u007f@example.com', 'a\u0085b@example.com', 'a@exa\u009bmple.com', 'a@exa\u200bmple.com',
  'a\u200b@example.com', 'a@ex\u00adample.com', 'a@exa\ufeffmple.com', 'a@exa\u034fmple.com', 'a@ex\ufe0fample.com', 'a@exa\u2060mple.com',
  'a\u2028b@example.com', 'a@example.com\u2029', 'a\u00a0b@example.com', 'a@exam\u3000ple.com', 'a@exa\u202emple.com', 'a\u200d@example.com',
  'Jo\u0007hn <a@example.com>', 'Jo\thn <a@example.com>', 'Jo\u202ehn <a@example.com>', 'John\u2028Doe <a@example.com>', 'John <a@exa\u200bmple.com>',
];
for (const input of HIDDEN_CHARACTERS) {
  test(`refused, not stripped: ${JSON.stringify(input)}`, () => {
    assert.equal(typeof parseMailbox(input), 'string', 'parseMailbox');
    const bare = input.includes('<') ? input.slice(input.indexOf('<') + 1, -1) : input;
    if (!input.includes('<')) assert.equal(typeof checkAddress(bare), 'string', 'checkAddress');
  });
}

test('the same rule for domain names: refused rather than changed by IDNA, valid ones in A-labels', () => {
  for (const input of ['example.com\r\nx', 'exa\tmple.com', 'example.com\t', '\texample.com', 'exa\u200bmple.com', 'ex\u00adample.com', 'exa\u202emple.com',
    'example.com\u0000', 'exa mple.com', 'example', 'example.123', '-example.com', 'example-.com', `${'a'.repeat(64)}.com`, `${'a.'.repeat(127)}com`]) {
    assert.equal(asciiDomain(input), null, JSON.stringify(input));
  }
  assert.equal(asciiDomain('Example.COM'), 'example.com');
  assert.equal(asciiDomain('bücher.example'), 'xn--bcher-kva.example');
  assert.equal(asciiDomain('a.b'), 'a.b');
});

test('HTML detection: markup is HTML, prose with angle brackets is not', () => {
  assert.equal(looksLikeHtml('<p>Hello</p>'), true);
  assert.equal(looksLikeHtml('<!DOCTYPE html><html><body>x</body></html>'), true);
  assert.equal(looksLikeHtml('Line one<br>Line two'), true);
  assert.equal(looksLikeHtml('if a < b and c > d then'), false);
  assert.equal(looksLikeHtml('Reply to <john@example.com>'), false);
  assert.equal(looksLikeHtml('we have a new offer this week'), false);
});
