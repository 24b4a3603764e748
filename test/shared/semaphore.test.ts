import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Semaphore } from '../../src/shared/semaphore.js';

test('at most `permits` holders; the others wait in arrival order and are never refused', async () => {
  const semaphore = new Semaphore(2);
  const order: number[] = [];
  let holding = 0;
  let peak = 0;
  await Promise.all(Array.from({ length: 6 }, async (_, index) => {
    const release = await semaphore.acquire();
    order.push(index);
    holding++;
    peak = Math.max(peak, holding);
    await new Promise((resolve) => setTimeout(resolve, 5));
    holding--;
    release();
    release(); // a second release gives back nothing
  }));
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.equal(semaphore.waiting, 0);
  // Both permits are free again, and only two.
  const [first, second] = [await semaphore.acquire(), await semaphore.acquire()];
  let third = false;
  const pending = semaphore.acquire().then((release) => {
    third = true;
    return release;
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(third, false);
  first();
  (await pending)();
  second();
});
