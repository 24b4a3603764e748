import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteHtml } from '../../src/tracking/rewriteHtml.js';

const track = (url: string, index: number) => `https://t.example/c/${index}/${encodeURIComponent(url)}`;

test('only the href values of http(s) links change; every other byte stays as written', () => {
  const html = `<HTML><body><p class=x>Hi&nbsp;<a class="b" href="https://a.example/?q=1&amp;r=2">A</a>,
<A HREF=http://b.example/x>B</A> <a href = 'https://c.example'>C</a>
<a href="mailto:x@example.com">mail</a> <a href="#top">top</a> <a name="n">anchor</a> <img src="https://img.example/i.png"></p></body></HTML>`;
  const out = rewriteHtml(html, { link: track });
  const expected = html
    .replace('href="https://a.example/?q=1&amp;r=2"', `href="${track('https://a.example/?q=1&r=2', 0)}"`)
    .replace('HREF=http://b.example/x', `href="${track('http://b.example/x', 1)}"`)
    .replace("href = 'https://c.example'", `href="${track('https://c.example', 2)}"`);
  assert.equal(out, expected);
});

test('a link marked data-mailroom-no-track keeps its URL, and loses the mark', () => {
  const html = '<a href="https://keep.example/" data-mailroom-no-track>keep</a><a href="https://track.example/">t</a>';
  assert.equal(rewriteHtml(html, { link: track }), `<a href="https://keep.example/" >keep</a><a href="${track('https://track.example/', 0)}">t</a>`);
});

test('additions go before </body>, or at the end of a fragment; without link tracking links stay', () => {
  assert.equal(rewriteHtml('<html><body><a href="https://a.example">a</a></BODY></html>', { append: '<img>' }), '<html><body><a href="https://a.example">a</a><img></BODY></html>');
  assert.equal(rewriteHtml('<p>no body</p>', { append: '<img>' }), '<p>no body</p><img>');
  assert.equal(rewriteHtml('<p>nothing</p>', {}), '<p>nothing</p>');
});

test('markup a browser would repair is not repaired: unclosed tags and odd spacing stay', () => {
  const html = '<table><tr><td><a  href="https://a.example"  >x<td>y</table><p>z';
  assert.equal(rewriteHtml(html, { link: track }), `<table><tr><td><a  href="${track('https://a.example', 0)}"  >x<td>y</table><p>z`);
});
