import assert from 'node:assert/strict';
import { test } from 'node:test';
import Mustache from 'mustache';
import { ApiError } from '../../src/shared/errors.js';
import { WeightedLru } from '../../src/templates/lru.js';
import { parseCacheStats, renderTemplate, templateSyntaxProblem, type TemplateVersion } from '../../src/templates/render.js';

/** Rendering alone: escaping per part, values over defaults, what is missing, what is refused. */
function template(parts: Partial<TemplateVersion>): TemplateVersion {
  return { templateId: 'tmpl_test', name: 'welcome', version: 1, subject: 'Hello', text: null, html: null, defaults: {}, ...parts };
}

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    return error;
  }
  assert.fail('expected an ApiError');
}

test('{{name}} is HTML-escaped in the HTML part only; {{{name}}} and {{& name}} never', () => {
  const rendered = renderTemplate(
    template({ subject: 'For {{who}}', text: 'Dear {{who}}, {{{who}}}', html: '<p>{{who}}</p><p>{{{snippet}}}</p><p>{{& snippet}}</p>' }),
    { who: 'Tom & "Jerry" <t@example.com>', snippet: '<b>bold</b>' },
  );
  assert.deepEqual(rendered, {
    subject: 'For Tom & "Jerry" <t@example.com>',
    text: 'Dear Tom & "Jerry" <t@example.com>, Tom & "Jerry" <t@example.com>',
    html: '<p>Tom &amp; &quot;Jerry&quot; &lt;t@example.com&gt;</p><p><b>bold</b></p><p><b>bold</b></p>',
  });
});

test('recipient values override defaults; numbers and booleans render as written', () => {
  const version = template({ text: '{{greeting}} {{name}}: {{count}} items, paid={{paid}}, ratio {{ratio}}', html: '<i>{{count}} {{paid}}</i>', defaults: { greeting: 'Hi', name: 'there', count: 0 } });
  assert.deepEqual(renderTemplate(version, { paid: false, ratio: 0.5 }), { subject: 'Hello', text: 'Hi there: 0 items, paid=false, ratio 0.5', html: '<i>0 false</i>' });
  assert.equal(renderTemplate(version, { name: 'Ann', count: 3, paid: true, ratio: -1 }).text, 'Hi Ann: 3 items, paid=true, ratio -1');
});

test('every missing placeholder is named at once, from every part, dotted names included', () => {
  const error = thrown(() => renderTemplate(
    template({ name: 'receipt', subject: 'Order {{order.id}}', text: '{{name}} {{name}} {{total}}', html: '<p>{{{ signature }}} {{total}}</p>', defaults: { total: '9.99' } }),
    { name: 'Ann' },
  ));
  assert.equal(error.status, 422);
  assert.equal(error.code, 'PLACEHOLDER_MISSING');
  assert.equal(error.message, 'The template "receipt" uses placeholders with no value and no default: order.id, signature.');
  assert.deepEqual(error.details, [
    { field: 'placeholders.order.id', message: 'has no value and the template no default' },
    { field: 'placeholders.signature', message: 'has no value and the template no default' },
  ]);
  assert.equal(renderTemplate(template({ subject: 'Order {{order.id}}' }), { 'order.id': 42 }).subject, 'Order 42', 'a dotted name is one flat key');
});

test('sections are conditions: their names need no value, and what they skip is not needed', () => {
  const version = template({ text: '{{#title}}{{title}} {{/title}}{{name}}{{#vip}}, your code is {{code}}{{/vip}}{{^vip}}.{{/vip}}' });
  assert.equal(renderTemplate(version, { name: 'Smith' }).text, 'Smith.');
  assert.equal(renderTemplate(version, { name: 'Smith', title: 'Dr' }).text, 'Dr Smith.');
  assert.equal(renderTemplate(version, { name: 'Smith', vip: true, code: 'X1' }).text, 'Smith, your code is X1');
  const error = thrown(() => renderTemplate(version, { name: 'Smith', vip: true }));
  assert.deepEqual(error.details.map((detail) => detail.field), ['placeholders.code']);
  assert.equal(renderTemplate(template({ text: '{{#who}}Hi {{.}}!{{/who}}' }), { who: 'Ann' }).text, 'Hi Ann!');
});

test('only the values given are seen: no inherited properties', () => {
  const error = thrown(() => renderTemplate(template({ text: '{{constructor}} {{toString}} {{__proto__}}' }), {}));
  assert.deepEqual(error.details.map((detail) => detail.field), ['placeholders.constructor', 'placeholders.toString', 'placeholders.__proto__']);
});

test('values that are not a string, number or boolean are refused, each named', () => {
  const version = template({ text: '{{a}} {{b}} {{c}} {{d}} {{e}}' });
  const error = thrown(() => renderTemplate(version, { a: 'ok', b: { nested: 1 }, c: [1], d: null, e: 1 }));
  assert.equal(error.status, 400);
  assert.equal(error.code, 'VALIDATION_ERROR');
  assert.deepEqual(error.details.map((detail) => detail.field), ['placeholders.b', 'placeholders.c', 'placeholders.d']);
  assert.equal(thrown(() => renderTemplate(version, ['x'] as unknown as Record<string, unknown>)).details[0]?.field, 'placeholders');
});

test('a value that would put a line break into the subject is refused', () => {
  const error = thrown(() => renderTemplate(template({ subject: 'Hi {{name}}', text: '{{body}}' }), { name: 'Ann\r\nBcc: x@example.com', body: 'line\nbreaks are fine here' }));
  assert.equal(error.status, 400);
  assert.deepEqual(error.details.map((detail) => detail.field), ['placeholders.name']);
});

test('syntax problems are found before a template is stored', () => {
  assert.match(templateSyntaxProblem('Hello {{#items}} never closed') ?? '', /Unclosed section "items"/);
  assert.match(templateSyntaxProblem('Hello {{name') ?? '', /Unclosed tag/);
  assert.match(templateSyntaxProblem('{{/items}}') ?? '', /Unopened section "items"/);
  assert.match(templateSyntaxProblem('{{> footer}}') ?? '', /partials are not supported/);
  assert.match(templateSyntaxProblem('{{.}}') ?? '', /outside a section/);
  assert.equal(templateSyntaxProblem('{{#a}}{{.}}{{/a}} {{! a comment }} {{=<% %>=}}<% b %>'), null);
  assert.equal(renderTemplate(template({ text: '{{=<% %>=}}<% b %> {{b}}' }), { b: 'x' }).text, 'x {{b}}', 'changed delimiters apply after the change');
});

test('parsed templates are cached by id and version, bounded, and mustache\'s global cache is left alone', () => {
  Mustache.clearCache();
  const version = template({ templateId: 'tmpl_cache', version: 7, text: 'v7 {{x}}' });
  renderTemplate(version, { x: 1 });
  const before = parseCacheStats();
  renderTemplate(version, { x: 2 });
  assert.deepEqual(parseCacheStats(), before, 'the second render parses nothing');
  // Same id and version with other content (never stored, but possible in a caller): the source decides.
  assert.equal(renderTemplate({ ...version, text: 'other {{x}}' }, { x: 3 }).text, 'other 3');
  // mustache's own cache never evicts; nothing of ours goes into it.
  assert.deepEqual(Object.keys((Mustache.templateCache as unknown as { _cache: Record<string, unknown> })._cache), []);

  const lru = new WeightedLru<string>(3, 10);
  lru.set('a', 'a', 4);
  lru.set('b', 'b', 4);
  lru.get('a');
  lru.set('c', 'c', 4); // over the weight: the least recently used (b) goes
  assert.deepEqual([lru.get('a'), lru.get('b'), lru.get('c')], ['a', undefined, 'c']);
  lru.set('huge', 'x', 11);
  assert.equal(lru.get('huge'), undefined, 'an entry heavier than the whole budget is not kept');
  assert.equal(lru.weight, 8);
});
