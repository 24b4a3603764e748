import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { compileHardened } from '../../src/http/validation.js';

/**
 * The one validator of every route (src/http/validation.ts): what it makes of null in a nullable
 * field, where Ajv's type coercion once turned null into false or "" (so null could not clear a
 * field), and the bounds it adds to every schema.
 */
const Body = Type.Object({
  trackOpens: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  sendAt: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()], { description: 'null clears it' })),
  limit: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  mode: Type.Optional(Type.Union([Type.Literal('a'), Type.Literal('b'), Type.Null()])),
});
const validate = compileHardened(Body);

function parsed(body: Record<string, unknown>): Record<string, unknown> | string {
  const copy = structuredClone(body);
  return validate(copy) ? copy : JSON.stringify(validate.errors);
}

test('null stays null in a nullable field; false, 0 and "" stay what they are', () => {
  assert.deepEqual(parsed({ trackOpens: null, sendAt: null, limit: null, mode: null }), { trackOpens: null, sendAt: null, limit: null, mode: null });
  assert.deepEqual(parsed({ trackOpens: false, sendAt: '', limit: 5, mode: 'b' }), { trackOpens: false, sendAt: '', limit: 5, mode: 'b' });
  assert.deepEqual(parsed({ trackOpens: true, sendAt: '2026-12-07T10:00:00Z' }), { trackOpens: true, sendAt: '2026-12-07T10:00:00Z' });
});

test('the nullable fields keep their rules: bounds, lengths, storable text, literals', () => {
  assert.equal(typeof parsed({ limit: 0 }), 'string', 'below its minimum');
  assert.equal(typeof parsed({ limit: 2 ** 40 }), 'string', 'beyond PostgreSQL integer');
  assert.equal(typeof parsed({ sendAt: 'x'.repeat(65) }), 'string', 'too long');
  assert.equal(typeof parsed({ sendAt: 'a\u0000b' }), 'string', 'NUL refused');
  assert.equal(typeof parsed({ mode: 'c' }), 'string', 'not one of the literals');
  assert.equal(typeof parsed({ trackOpens: 'maybe' }), 'string', 'not a boolean');
});

test('a union of literals fails once, with its allowed values (not once per literal)', () => {
  const copy: Record<string, unknown> = { mode: 'c' };
  assert.equal(validate(copy), false);
  assert.deepEqual(validate.errors?.map((error) => [error.keyword, error.params]), [['enum', { allowedValues: ['a', 'b', null] }]]);
});
