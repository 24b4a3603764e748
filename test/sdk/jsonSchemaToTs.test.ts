import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toTypeScript } from '../../packages/sdk/scripts/jsonSchemaToTs.js';

/** The generator's schema emitter, rule by rule (the drift test covers it on the whole document). */

const flat = (type: string) => type.replace(/\s+/g, ' ');

test('scalars, enums, consts and nullable', () => {
  assert.equal(toTypeScript({ type: 'string' }), 'string');
  assert.equal(toTypeScript({ type: 'integer' }), 'number');
  assert.equal(toTypeScript({ type: 'string', nullable: true }), 'string | null');
  assert.equal(toTypeScript({ type: ['string', 'null'] }), 'string | null');
  assert.equal(toTypeScript({ enum: ['a', 'b', 1] }), '"a" | "b" | 1');
  assert.equal(toTypeScript({ const: 'x', nullable: true }), '"x" | null');
  assert.equal(toTypeScript({}), 'unknown');
});

test('unions, intersections and arrays (parenthesised where they would bind wrongly)', () => {
  assert.equal(toTypeScript({ anyOf: [{ type: 'string', enum: ['A'] }, { type: 'string', enum: ['B'] }] }), '"A" | "B"');
  assert.equal(toTypeScript({ oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'string' }] }), 'string | number');
  assert.equal(toTypeScript({ anyOf: [{ type: 'string' }, {}] }), 'unknown', 'a union with anything is anything');
  assert.equal(toTypeScript({ type: 'array', items: { type: 'string', nullable: true } }), '(string | null)[]');
  assert.equal(toTypeScript({ type: 'array', items: { type: 'string' } }), 'string[]');
  assert.equal(toTypeScript({ type: 'array', items: [{ type: 'string' }, { type: 'number' }] }), '[string, number]');
  assert.equal(flat(toTypeScript({ allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { type: 'object', properties: { b: { type: 'number' } } }] })), '{ a: string; } & { b?: number; }');
});

test('objects: required and optional properties, quoted names, descriptions, additionalProperties', () => {
  const type = toTypeScript({
    type: 'object',
    required: ['id'],
    properties: { id: { type: 'string', description: 'the id' }, 'x-count': { type: 'integer' } },
  });
  assert.equal(type, '{\n  /** the id */\n  id: string;\n  "x-count"?: number;\n}');
  assert.equal(flat(toTypeScript({ type: 'object', additionalProperties: { type: 'string' } })), '{ [key: string]: string; }');
  assert.equal(flat(toTypeScript({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true })), '{ a?: string; [key: string]: unknown; }');
  assert.equal(toTypeScript({ type: 'object' }), 'Record<string, unknown>');
  assert.equal(toTypeScript({ type: 'object', additionalProperties: false }), 'Record<string, never>');
  assert.equal(flat(toTypeScript({ type: 'array', items: { type: 'object', properties: { a: { type: 'string' } }, nullable: true } })), '({ a?: string; } | null)[]');
});
