import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from '../../src/shared/batcher.js';

test('items submitted in one turn share a flush; items that arrive during a flush share the next', async () => {
  const batches: number[][] = [];
  const batcher = new Batcher<number, number>({
    maxBatch: 100,
    maxConcurrent: 1,
    flush: async (items) => {
      batches.push(items);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return items.map((item) => item * 2);
    },
  });
  const first = Promise.all(Array.from({ length: 30 }, (_, index) => batcher.submit(index)));
  await new Promise((resolve) => setTimeout(resolve, 5)); // the first flush is under way
  const second = Promise.all(Array.from({ length: 20 }, (_, index) => batcher.submit(30 + index)));
  const results = [...(await first), ...(await second)];
  assert.deepEqual(results, Array.from({ length: 50 }, (_, index) => index * 2));
  assert.deepEqual(batches.map((batch) => batch.length), [30, 20]);
});

test('maxBatch splits large groups; maxConcurrent bounds parallel flushes', async () => {
  let running = 0;
  let peak = 0;
  const sizes: number[] = [];
  const batcher = new Batcher<number, void>({
    maxBatch: 10,
    maxConcurrent: 3,
    flush: async (items) => {
      running++;
      peak = Math.max(peak, running);
      sizes.push(items.length);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running--;
      return items.map(() => undefined);
    },
  });
  await Promise.all(Array.from({ length: 95 }, (_, index) => batcher.submit(index)));
  assert.equal(peak, 3);
  assert.ok(sizes.every((size) => size <= 10));
  assert.equal(sizes.reduce((a, b) => a + b, 0), 95);
});

test('a failing batch is retried item by item: only the bad item fails', async () => {
  const batcher = new Batcher<number, number>({
    maxBatch: 100,
    maxConcurrent: 1,
    flush: async (items) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (items.includes(13)) throw new Error('unlucky');
      return items;
    },
  });
  const outcomes = await Promise.allSettled([1, 2, 13, 4, 5].map((item) => batcher.submit(item)));
  assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  await batcher.drain();
});

test('maxWeight closes a batch before the item that would take it past the cap; an item over the cap goes alone', async () => {
  const batches: number[][] = [];
  const batcher = new Batcher<number, void>({
    maxBatch: 100,
    maxConcurrent: 1,
    maxWeight: 10,
    weight: (item) => item,
    flush: async (items) => {
      batches.push(items);
      return items.map(() => undefined);
    },
  });
  await Promise.all([3, 3, 3, 3, 12, 1, 1, 9, 2].map((item) => batcher.submit(item)));
  assert.deepEqual(batches, [[3, 3, 3], [3], [12], [1, 1], [9], [2]]);
});
