import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pacer } from '../../src/campaigns/pacing.js';

test('slots are 60/rate seconds apart, only within the horizon, never in the past', () => {
  const pacer = new Pacer(600, 1_000_000); // one every 100 ms
  assert.equal(pacer.available(1_000_000, 2_000, 500), 20);
  assert.equal(pacer.available(1_000_000, 2_000, 5), 5, 'at most a page');
  const slots = Array.from({ length: 20 }, () => pacer.take(1_000_000));
  assert.deepEqual(slots.slice(0, 3), [1_000_000, 1_000_100, 1_000_200]);
  assert.equal(slots.at(-1), 1_001_900);
  assert.equal(pacer.available(1_000_000, 2_000, 500), 0, 'the horizon is full');
  assert.equal(pacer.waitMs(1_000_000, 2_000), 1_000, 'wait until half the horizon is free');
  // After a stall of a minute the next slot is now, not a minute of slots at once.
  assert.equal(pacer.take(1_060_000), 1_060_000);
  assert.equal(pacer.take(1_060_000), 1_060_100);
  assert.equal(pacer.available(1_060_000, 2_000, 500), 18);
});

test('a slow rate: one slot in the horizon, then a wait of most of the interval', () => {
  const pacer = new Pacer(6, 0); // one every 10 s
  assert.equal(pacer.available(0, 2_000, 500), 1);
  pacer.take(0);
  assert.equal(pacer.available(1_000, 2_000, 500), 0);
  assert.equal(pacer.waitMs(1_000, 2_000), 8_000);
  assert.equal(pacer.available(8_500, 2_000, 500), 1);
});
