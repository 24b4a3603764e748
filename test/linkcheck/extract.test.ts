import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractLinks, MAX_LINKS } from '../../src/linkcheck/extract.js';

/** The links the sandbox's link check looks at: from the HTML part and the plain text, once each. */
test('links and images of the HTML part, with their text, in order, once each', () => {
  const html = `<p><a href="https://shop.example/a?x=1&amp;y=2">Your <b>order</b></a>
    <A HREF=" https://shop.example/b ">B</A><img src="https://cdn.example/logo.png" alt="Logo">
    <a href="https://shop.example/a?x=1&amp;y=2">again</a><a name="anchor">no href</a>
    <map><area href="mailto:help@shop.example"></map><a href="https://unclosed.example/">`;
  assert.deepEqual(extractLinks(html, null), [
    { url: 'https://shop.example/a?x=1&y=2', kind: 'link', text: 'Your order' },
    { url: 'https://shop.example/b', kind: 'link', text: 'B' },
    { url: 'https://cdn.example/logo.png', kind: 'image', text: 'Logo' },
    { url: 'mailto:help@shop.example', kind: 'link', text: null },
    { url: 'https://unclosed.example/', kind: 'link', text: null },
  ]);
});

test('URLs written in the plain text, without the punctuation after them', () => {
  const text = 'See https://shop.example/track/1. Or (https://shop.example/help), http://x.example/a?b=c!\nftp://no.example';
  assert.deepEqual(extractLinks(null, text).map((link) => link.url), ['https://shop.example/track/1', 'https://shop.example/help', 'http://x.example/a?b=c']);
  assert.deepEqual(extractLinks('<a href="https://shop.example/help">h</a>', 'https://shop.example/help').length, 1, 'the text repeats the HTML link: once');
});

test(`at most ${MAX_LINKS} targets, however many the message has`, () => {
  const html = Array.from({ length: 5_000 }, (_, i) => `<a href="https://x.example/${i}">${i}</a>`).join('');
  const found = extractLinks(html, null);
  assert.equal(found.length, MAX_LINKS);
  assert.equal(found[0]!.url, 'https://x.example/0');
});

test('nothing to find: no parts, empty and broken markup', () => {
  assert.deepEqual(extractLinks(null, null), []);
  assert.deepEqual(extractLinks('', ''), []);
  assert.deepEqual(extractLinks('<a href=', '<<>>'), []);
  assert.deepEqual(extractLinks('<a href="">empty</a>', null), []);
});
