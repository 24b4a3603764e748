import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextAttemptAt, retryDelayMs, RETRY_PERIOD_MS } from '../../src/webhooks/backoff.js';

test('back-off: 5 s tripling to 4 h, jittered between 75% and 125%', () => {
  assert.equal(retryDelayMs(1, () => 0.5), 5_000);
  assert.equal(retryDelayMs(2, () => 0.5), 15_000);
  assert.equal(retryDelayMs(3, () => 0.5), 45_000);
  assert.equal(retryDelayMs(20, () => 0.5), 4 * 3600_000);
  assert.equal(retryDelayMs(1, () => 0), 3_750);
  assert.equal(retryDelayMs(1, () => 1), 6_250);
});

test('retries end 24 h after the event: the last is at the deadline, a failure after it is final', () => {
  const created = new Date('2026-06-01T00:00:00Z');
  const nearEnd = new Date(created.getTime() + RETRY_PERIOD_MS - 60_000);
  assert.equal(nextAttemptAt(created, 12, nearEnd, () => 0.5)?.getTime(), created.getTime() + RETRY_PERIOD_MS);
  assert.equal(nextAttemptAt(created, 13, new Date(created.getTime() + RETRY_PERIOD_MS), () => 0.5), null);
  // Over 24 h the schedule gives a receiver many chances, most of them in the first hour.
  let at = created;
  let attempts = 0;
  for (let failures = 1; ; failures++) {
    const next = nextAttemptAt(created, failures, at, () => 0.5);
    if (!next) break;
    at = next;
    attempts++;
  }
  assert.ok(attempts >= 10 && attempts <= 15, `${attempts} retries in 24 h`);
});
