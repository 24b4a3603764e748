import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { classifyReason } from '../../../src/bounces/parser/classify.js';
import { reasonRules } from '../../../src/bounces/parser/reasonRules.js';

interface RuleFixture {
  text: string;
  status: string;
  replyCode: string;
  command?: string;
  expect: { reason: string; rule: string };
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/reason-rules.json', import.meta.url), 'utf8')) as RuleFixture[];

test('every reason rule has at least one fixture', () => {
  const covered = new Set(fixtures.map((fixture) => fixture.expect.rule));
  const uncovered = reasonRules.map((rule) => rule.id).filter((id) => !covered.has(id));
  assert.deepEqual(uncovered, []);
});

test('rule ids are unique, and every fixture names an existing rule', () => {
  const ids = reasonRules.map((rule) => rule.id);
  assert.equal(new Set(ids).size, ids.length);
  const unknown = fixtures.map((fixture) => fixture.expect.rule).filter((id) => !ids.includes(id));
  assert.deepEqual(unknown, []);
});

test('every fixture is decided by the rule it names, with its reason', () => {
  for (const fixture of fixtures) {
    const decision = classifyReason({ text: fixture.text, status: fixture.status, replyCode: fixture.replyCode, command: fixture.command });
    assert.deepEqual(decision, { reason: fixture.expect.reason, rule: fixture.expect.rule }, fixture.text);
  }
});

test('no rule at all: judgement is held, not guessed', () => {
  assert.deepEqual(classifyReason({ text: 'Es ist ein Fehler aufgetreten', status: '', replyCode: '' }), { reason: 'onhold', rule: 'none' });
});
