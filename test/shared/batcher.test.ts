import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from '../../src/shared/batcher.js';

test('items that arrive during a flush are flushed together by the next one', async () => {
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
  const results = await Promise.all(Array.from({ length: 50 }, (_, index) => batcher.submit(index)));
  assert.deepEqual(results, Array.from({ length: 50 }, (_, index) => index * 2));
  assert.deepEqual(batches[0], [0]); // the first caller is not delayed
  assert.equal(batches.length, 2);
  assert.equal(batches[1]!.length, 49);
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
