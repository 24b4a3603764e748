import assert from 'node:assert/strict';
import test from 'node:test';
import { Throttle } from '../../src/subscriptions/throttle.js';

test('a key gets its limit per window, then the seconds left; another key is counted apart', () => {
  const throttle = new Throttle({ limit: 3, windowMs: 60_000 });
  assert.deepEqual([0, 1, 2].map(() => throttle.take('1.2.3.4', 1_000)), [0, 0, 0]);
  assert.equal(throttle.take('1.2.3.4', 1_500), 60);
  assert.equal(throttle.take('1.2.3.4', 59_000), 2);
  assert.equal(throttle.take('5.6.7.8', 1_500), 0);
  assert.equal(throttle.take('1.2.3.4', 61_000), 0, 'a new window starts');
});

test('a flood of distinct keys keeps the map bounded, the newest windows kept', () => {
  const throttle = new Throttle({ limit: 1, windowMs: 60_000 }, 1_000);
  for (let i = 0; i < 10_000; i++) throttle.take(`k${i}`, 0);
  const size = (throttle as unknown as { windows: Map<string, unknown> }).windows.size;
  assert.ok(size <= 1_000 && size >= 900, `size ${size}`);
  assert.ok(throttle.take('k9999', 1) > 0, 'the newest key is still counted');
  assert.equal(throttle.take('k0', 1), 0, 'the oldest was dropped');
});
