import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyOf, EMPTY_FORM, fieldErrors, formOf, localInputOf, type CampaignDefinition } from '../src/campaignForm.js';

const DEFINITION: CampaignDefinition = {
  name: 'Spring', from: 'News <news@shop.example>', replyTo: null, subject: 'Hello {{name}}', text: null, html: '<p>Hi</p>',
  templateId: null, templateVersion: null, lists: ['list_a'], excludeLists: [], tags: ['spring'], trackOpens: true, trackClicks: null,
  sendAt: null, ratePerMinute: 600,
};

test('a new campaign: the fields given, the empty ones left out, tags trimmed, numbers as numbers', () => {
  const { name, from, subject, html, lists, tags, trackOpens, ratePerMinute } = DEFINITION;
  assert.deepEqual(bodyOf(formOf(DEFINITION), null), { name, from, subject, html, lists, excludeLists: [], tags, trackOpens, ratePerMinute });
  const body = bodyOf({ ...EMPTY_FORM, name: ' Spring ', from: 'news@shop.example', replyTo: '  ', tags: [' a ', '', 'b'], ratePerMinute: ' 60 ', trackClicks: 'off' }, null);
  assert.deepEqual(body, { name: 'Spring', from: 'news@shop.example', lists: [], excludeLists: [], tags: ['a', 'b'], trackClicks: false, ratePerMinute: 60 });
  assert.deepEqual(bodyOf(EMPTY_FORM, null), { name: '', from: '', lists: [], excludeLists: [], tags: [] }, 'what is required is sent, for the API to name it');
});

test('an edit sends what changed only, null where a field was cleared', () => {
  assert.deepEqual(bodyOf(formOf(DEFINITION), DEFINITION), {}, 'nothing changed');
  const form = { ...formOf(DEFINITION), subject: 'Hi {{name}}', trackOpens: 'default' as const, ratePerMinute: '', tags: ['spring', 'sale'] };
  assert.deepEqual(bodyOf(form, DEFINITION), { subject: 'Hi {{name}}', tags: ['spring', 'sale'], trackOpens: null, ratePerMinute: null });
});

test('what is not a number or a time goes as typed, for the API to name its field', () => {
  const body = bodyOf({ ...EMPTY_FORM, ratePerMinute: 'fast', sendAt: 'soon', content: 'template', templateId: 'welcome', templateVersion: '2x' }, null);
  assert.equal(body.ratePerMinute, 'fast');
  assert.equal(body.sendAt, 'soon');
  assert.equal(body.templateVersion, '2x');
});

test('a template campaign sends no inline content, an inline one no template', () => {
  const form = { ...formOf(DEFINITION), content: 'template' as const, templateId: 'tmpl_x', templateVersion: '3' };
  assert.deepEqual(bodyOf(form, DEFINITION), { html: null, templateId: 'tmpl_x', templateVersion: 3 }, 'the inline HTML cleared; the subject kept, replacing the template\'s');
  const templated = { ...DEFINITION, html: null, templateId: 'tmpl_x', templateVersion: 3 };
  assert.deepEqual(bodyOf({ ...form, content: 'inline', html: '<p>Back</p>' }, templated), { html: '<p>Back</p>', templateId: null, templateVersion: null });
});

test('send-at: the local input and ISO 8601 round trip in the browser\'s zone', () => {
  const iso = '2026-12-24T08:00:00.000Z';
  const local = localInputOf(iso);
  assert.match(local, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
  assert.equal(bodyOf({ ...EMPTY_FORM, sendAt: local }, null).sendAt, iso);
  assert.equal(localInputOf(null), '');
  assert.equal(localInputOf('not a time'), '');
});

test("the API's error details by the form's field", () => {
  assert.deepEqual(fieldErrors([
    { field: 'from', message: 'is not an address' },
    { field: 'lists[1]', message: 'names no list of this account' },
    { field: 'lists[2]', message: 'names no list of this account' },
    { field: 'tags[0]', message: 'must be one line' },
    { field: '', message: 'the body must be a JSON object' },
  ]), {
    from: 'is not an address',
    lists: 'lists[1] names no list of this account; lists[2] names no list of this account',
    tags: 'tags[0] must be one line',
    '': 'the body must be a JSON object',
  });
  assert.deepEqual(fieldErrors([]), {});
});
