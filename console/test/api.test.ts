import assert from 'node:assert/strict';
import { test } from 'node:test';
import { problemOf } from '../src/api.js';

test("an error answer of the API becomes a problem with its code, message, details and Retry-After", () => {
  const problem = problemOf(429, { error: { code: 'OPERATOR_LOCKED', message: 'Too many', details: [{ field: 'password', message: 'x' }, { field: 1 }] } }, '900');
  assert.equal(problem.status, 429);
  assert.equal(problem.code, 'OPERATOR_LOCKED');
  assert.equal(problem.message, 'Too many');
  assert.deepEqual(problem.details, [{ field: 'password', message: 'x' }], 'malformed details are dropped');
  assert.equal(problem.retryAfterSeconds, 900);
});

test('an answer that is not the API\'s error shape still reads', () => {
  for (const body of [null, 'text', { error: 'flat' }, { error: { code: 5 } }]) {
    const problem = problemOf(502, body, 'Wed, 21 Oct 2015 07:28:00 GMT');
    assert.equal(problem.code, 'HTTP_502');
    assert.match(problem.message, /502/);
    assert.equal(problem.retryAfterSeconds, null);
  }
});
