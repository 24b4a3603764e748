import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoadingCache } from '../../src/shared/loadingCache.js';

/** A load the test finishes when it chooses, counting how often it was started. */
function controlledLoads<V>() {
  const started: ((value: V) => void)[] = [];
  return {
    started,
    load: () => new Promise<V>((resolve) => started.push(resolve)),
  };
}

test('concurrent asks for one key share one load; the value is kept for its TTL', async () => {
  let now = 1_000;
  const cache = new LoadingCache<string, number>({ ttlMs: () => 100, maxEntries: 10, now: () => now });
  const loads = controlledLoads<number>();
  const asks = [cache.get('a', loads.load), cache.get('a', loads.load), cache.get('a', loads.load)];
  assert.equal(loads.started.length, 1);
  loads.started[0]!(7);
  assert.deepEqual(await Promise.all(asks), [7, 7, 7]);
  assert.equal(await cache.get('a', loads.load), 7);
  assert.equal(loads.started.length, 1, 'kept');
  now += 100;
  const again = cache.get('a', loads.load);
  assert.equal(loads.started.length, 2, 'expired, loaded again');
  loads.started[1]!(8);
  assert.equal(await again, 8);
});

test('a value whose TTL is 0 is handed over but not kept; a failed load is not kept either', async () => {
  const cache = new LoadingCache<string, string>({ ttlMs: (value) => (value === 'temporary' ? 0 : 1_000), maxEntries: 10 });
  let calls = 0;
  assert.equal(await cache.get('d', async () => (++calls, 'temporary')), 'temporary');
  assert.equal(await cache.get('d', async () => (++calls, 'final')), 'final');
  assert.equal(await cache.get('d', async () => (++calls, 'other')), 'final');
  assert.equal(calls, 2);
  await assert.rejects(cache.get('e', async () => Promise.reject(new Error('down'))), /down/);
  assert.equal(await cache.get('e', async () => 'up'), 'up');
});

test('invalidate: matching entries go, and a load running at that moment is not stored', async () => {
  const cache = new LoadingCache<string, string>({ ttlMs: () => 60_000, maxEntries: 10 });
  await cache.get('1:a', async () => 'old a');
  await cache.get('2:b', async () => 'old b');
  const loads = controlledLoads<string>();
  const running = cache.get('1:c', loads.load);
  cache.invalidate((key) => key.startsWith('1:'));
  loads.started[0]!('read before the change');
  assert.equal(await running, 'read before the change', 'its callers still get it');
  assert.equal(await cache.get('1:c', async () => 'after'), 'after', 'not stored: loaded again');
  assert.equal(await cache.get('1:a', async () => 'new a'), 'new a');
  assert.equal(await cache.get('2:b', async () => 'new b'), 'old b', 'other keys stay');
});

test('past maxEntries the cache starts over instead of growing', async () => {
  const cache = new LoadingCache<number, number>({ ttlMs: () => 60_000, maxEntries: 3 });
  for (const key of [1, 2, 3]) await cache.get(key, async () => key);
  assert.equal(await cache.get(1, async () => -1), 1);
  await cache.get(4, async () => 4);
  assert.equal(await cache.get(1, async () => -1), -1, 'emptied when the fourth came');
});
