import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHtml, GMAIL_CLIP_BYTES, HTML_RULES } from '../src/htmlChecks.js';

test('plain, table-based HTML with alt texts has no findings', () => {
  assert.deepEqual(checkHtml('<table><tr><td style="color:#333">Hi <img src="cid:logo" alt="Logo"></td></tr></table>'), []);
});

test('each rule finds what it names', () => {
  const cases: Record<string, string> = {
    script: '<SCRIPT>x</SCRIPT>',
    form: '<form action="/x"></form>',
    iframe: '<iframe src="x"></iframe>',
    video: '<video src="x"></video>',
    'external-css': '<link rel="stylesheet" href="x.css">',
    position: '<div style="position: absolute">',
    'flex-grid': '<div style="display:flex">',
    'background-image': '<td style="background-image: url(x.png)">',
    svg: '<svg viewBox="0 0 1 1"></svg>',
    webfont: '<style>@font-face { font-family: X }</style>',
    'img-alt': '<img src="x.png">',
  };
  assert.deepEqual(Object.keys(cases).sort(), HTML_RULES.map((rule) => rule.id).sort(), 'a case for every rule');
  for (const [id, html] of Object.entries(cases)) assert.deepEqual(checkHtml(html).map((finding) => finding.id), [id], id);
});

test('HTML over Gmail\'s clipping size is flagged', () => {
  assert.deepEqual(checkHtml(`<p>${'a'.repeat(GMAIL_CLIP_BYTES)}</p>`).map((finding) => finding.id), ['size']);
});
