import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiProblem } from '../src/api.js';
import { fieldErrorsOf, onlyFieldErrors } from '../src/fieldErrors.js';

const problem = new ApiProblem(400, 'VALIDATION_ERROR', 'The template is not valid.', [
  { field: 'html', message: 'is not a valid template: Unclosed section "vip"' },
  { field: 'defaults.count', message: 'must be a string, number or boolean' },
  { field: 'defaults.x', message: 'must be a string, number or boolean' },
]);

test("the API's details become messages at their fields; a nested field's also at its parent", () => {
  assert.deepEqual(fieldErrorsOf(problem), {
    html: 'is not a valid template: Unclosed section "vip"',
    'defaults.count': 'must be a string, number or boolean',
    'defaults.x': 'must be a string, number or boolean',
    defaults: 'count must be a string, number or boolean; x must be a string, number or boolean',
  });
  assert.deepEqual(fieldErrorsOf(new Error('network')), {});
  assert.deepEqual(fieldErrorsOf(null), {});
});

test('a banner is needed unless every detail has a field of the form to show it', () => {
  assert.equal(onlyFieldErrors(problem, ['html', 'defaults']), true);
  assert.equal(onlyFieldErrors(problem, ['html']), false);
  assert.equal(onlyFieldErrors(new ApiProblem(409, 'CONFLICT', 'taken'), ['name']), false, 'no details: the message is the banner');
  assert.equal(onlyFieldErrors(new ApiProblem(400, 'VALIDATION_ERROR', 'x', [{ field: 'eventTypes[0]', message: 'bad' }]), ['eventTypes']), true);
});
