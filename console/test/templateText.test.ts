import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentOf, insertAt, parseValues, placeholdersOf, sameContent, snippetOf, withSamples, type TemplateDraft } from '../src/templateText.js';

test('placeholders in order of first use, across the parts, each once; sections are conditions', () => {
  assert.deepEqual(placeholdersOf('Hello {{ first_name }}', '<p>{{{signature}}} {{& raw}} {{first_name}}</p>{{#vip}}{{discount}}{{/vip}}{{^vip}}no{{/vip}}', 'Bye {{user.name}}'), [
    { name: 'first_name', kind: 'value' },
    { name: 'signature', kind: 'value' },
    { name: 'raw', kind: 'value' },
    { name: 'vip', kind: 'section' },
    { name: 'discount', kind: 'value' },
    { name: 'user.name', kind: 'value' },
  ]);
});

test('a name used as a condition and as a value is a value; comments, partials and {{.}} are not placeholders', () => {
  assert.deepEqual(placeholdersOf('{{#title}}{{title}}{{/title}}{{! not me}}{{#list}}{{.}}{{/list}}'), [
    { name: 'title', kind: 'value' },
    { name: 'list', kind: 'section' },
  ]);
});

test('changed delimiters are followed, as the server parses them', () => {
  assert.deepEqual(placeholdersOf('{{=<% %>=}}Hi <% name %> {{not_a_tag}}'), [{ name: 'name', kind: 'value' }]);
});

test('a part that does not parse yet (a section being typed) is still read', () => {
  assert.deepEqual(placeholdersOf('{{#vip}} Hi {{name}} {{{raw}}}'), [
    { name: 'vip', kind: 'section' },
    { name: 'name', kind: 'value' },
    { name: 'raw', kind: 'value' },
  ]);
  assert.deepEqual(placeholdersOf('{{/vip}} {{name'), []);
});

test('what a click inserts, in place of the selection, with the caret after it', () => {
  assert.equal(snippetOf({ name: 'name', kind: 'value' }), '{{name}}');
  assert.equal(snippetOf({ name: 'vip', kind: 'section' }), '{{#vip}}{{/vip}}');
  assert.deepEqual(insertAt('Hello !', 6, 6, '{{name}}'), { value: 'Hello {{name}}!', caret: 14 });
  assert.deepEqual(insertAt('Hello you!', 6, 9, '{{name}}'), { value: 'Hello {{name}}!', caret: 14 });
  assert.deepEqual(insertAt('ab', 99, 120, 'X'), { value: 'abX', caret: 3 }, 'a stale selection past the end appends');
});

test('sample and default values: a JSON object of strings, numbers and booleans', () => {
  assert.deepEqual(parseValues(''), { values: {} });
  assert.deepEqual(parseValues(' {"a": "x", "n": 2, "b": true} '), { values: { a: 'x', n: 2, b: true } });
  assert.match((parseValues('{"a": ') as { error: string }).error, /not valid JSON/);
  assert.match((parseValues('["a"]') as { error: string }).error, /JSON object/);
  assert.match((parseValues('null') as { error: string }).error, /JSON object/);
  assert.deepEqual(parseValues('{"a": null, "b": {"c": 1}, "d": "ok"}'), { error: 'values must be strings, numbers or booleans: a, b' });
  assert.deepEqual(JSON.parse(withSamples({ a: 'x' }, ['a', 'b'])), { a: 'x', b: '[b]' });
});

test('the body sent for a draft leaves empty parts out; content is compared without the name', () => {
  const draft: TemplateDraft = { name: 'welcome', subject: 'Hi', html: '<p>x</p>', text: '  ', defaults: '' };
  assert.deepEqual(contentOf(draft, {}), { subject: 'Hi', html: '<p>x</p>', defaults: {} });
  assert.equal(sameContent(draft, { ...draft, name: 'renamed', defaults: ' ' }), true);
  assert.equal(sameContent(draft, { ...draft, html: '<p>y</p>' }), false);
});
