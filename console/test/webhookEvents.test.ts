import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SUBSCRIBABLE_EVENTS } from '../../src/webhooks/webhooks.js';
import { eventTypesOf, groupOf } from '../src/webhookEvents.js';

/** POST /webhooks in the OpenAPI document, as @fastify/swagger writes the union of literals. */
function documentWith(items: unknown): unknown {
  return { paths: { '/webhooks': { post: { requestBody: { content: { 'application/json': { schema: { properties: { eventTypes: { type: 'array', items } } } } } } } } } };
}

test("the event types are read from the server's OpenAPI document: the same list the API checks against", () => {
  const items = { anyOf: SUBSCRIBABLE_EVENTS.map((type) => ({ type: 'string', enum: [type] })) };
  assert.deepEqual(eventTypesOf(documentWith(items)), [...SUBSCRIBABLE_EVENTS]);
  assert.deepEqual(eventTypesOf(documentWith({ type: 'string', enum: ['A', 'B', 'A'] })), ['A', 'B']);
  assert.deepEqual(eventTypesOf(documentWith({ oneOf: [{ const: 'X' }, { const: 3 }] })), ['X']);
  assert.deepEqual(eventTypesOf({ paths: {} }), []);
  assert.deepEqual(eventTypesOf(null), []);
});

test('every type the server offers falls in a group of the picker', () => {
  const groups = new Map(SUBSCRIBABLE_EVENTS.map((type) => [type, groupOf(type)]));
  assert.equal(groups.get('DELIVERED'), 'Message status');
  assert.equal(groups.get('CLICKED'), 'Engagement');
  assert.equal(groups.get('WEBHOOK_DISABLED'), 'Account');
  assert.equal(groups.get('DOMAIN_VERIFIED'), 'Account');
  assert.equal(groups.get('REPUTATION_WARNING'), 'Account');
});
