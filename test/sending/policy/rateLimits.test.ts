import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAccount } from '../../../src/accounts/accounts.js';
import type { Database } from '../../../src/db/database.js';
import { migrate } from '../../../src/db/migrate.js';
import { RateLimiter, type RateLimits } from '../../../src/sending/policy/rateLimits.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { createTestStore, onPostgres, sealerOf, type TestStore } from '../../helpers/database.js';

let store: TestStore;
let db: Database;
/** A second connection pool on PostgreSQL: another process's limiter, as far as the database can tell. */
let other: Database;
let accounts = 0;

before(async () => {
  store = await createTestStore();
  db = await store.open();
  await migrate(db);
  other = onPostgres ? await store.open() : db;
});
after(async () => {
  if (other !== db) await other.close();
  await db.close();
  await store.dispose();
});

async function account(): Promise<number> {
  return Number((await createAccount(db, sealerOf(store), `limited-${++accounts}`)).id);
}

const takeOne = (limiter: RateLimiter, accountId: number, limits: RateLimits) => limiter.take({ accountId, count: 1, limits, partial: false });

test('concurrent single messages from two limiters on separate connections: exactly the per-second limit is granted', async () => {
  const accountId = await account();
  const clock = new ManualClock(new Date('2026-03-01T10:00:00.200Z'));
  const limiters = [new RateLimiter(db, clock), new RateLimiter(other, clock)];
  const limits = { perSecond: 30, perDay: 0 };
  const grants = await Promise.all(Array.from({ length: 120 }, (_, index) => takeOne(limiters[index % 2]!, accountId, limits)));
  assert.equal(grants.filter((grant) => grant.granted === 1).length, 30);
  const refusal = grants.find((grant) => grant.refusal)!.refusal!;
  assert.equal(refusal.status, 429);
  assert.equal(refusal.code, 'RATE_LIMITED');
  assert.equal(refusal.headers['retry-after'], '1');
  assert.equal(refusal.headers['x-ratelimit-limit'], '30');
  assert.equal(refusal.headers['x-ratelimit-remaining'], '0');
  assert.equal(refusal.headers['x-ratelimit-reset'], String(Date.parse('2026-03-01T10:00:01Z') / 1000));

  // The next second has room again; the day (no limit) never fills.
  clock.advance(1000);
  const next = await Promise.all(Array.from({ length: 40 }, () => takeOne(limiters[1]!, accountId, limits)));
  assert.equal(next.filter((grant) => grant.granted === 1).length, 30);
});

test('the day limit holds across seconds and names the day: Retry-After runs to midnight UTC', async () => {
  const accountId = await account();
  const clock = new ManualClock(new Date('2026-03-01T23:00:00Z'));
  const limiter = new RateLimiter(db, clock);
  const limits = { perSecond: 10, perDay: 25 };
  let granted = 0;
  for (let second = 0; second < 5; second++) {
    const grants = await Promise.all(Array.from({ length: 10 }, () => takeOne(limiter, accountId, limits)));
    granted += grants.filter((grant) => grant.granted === 1).length;
    clock.advance(1000);
  }
  assert.equal(granted, 25);
  const refused = await takeOne(limiter, accountId, limits);
  assert.equal(refused.granted, 0);
  assert.equal(refused.refusal!.headers['retry-after'], String(3600 - 5));
  assert.equal(refused.refusal!.headers['x-ratelimit-limit'], '25');
  assert.match(refused.refusal!.message, /25 messages per day/);
  clock.advance(3600 * 1000);
  assert.equal((await takeOne(limiter, accountId, limits)).granted, 1, 'a new day has room');
});

test('a bulk request is granted what is left; an all-or-nothing one in the same batch gives its share back', async () => {
  const accountId = await account();
  const clock = new ManualClock(new Date('2026-03-02T08:00:00Z'));
  const limiter = new RateLimiter(db, clock);
  const limits = { perSecond: 10, perDay: 0 };
  const bulk = await limiter.take({ accountId, count: 25, limits, partial: true });
  assert.equal(bulk.granted, 10);
  assert.equal(bulk.refusal?.code, 'RATE_LIMITED');

  clock.advance(1000);
  // Together in one batch: 6 partial, then 8 all-or-nothing (only 4 left: none), then 2 partial.
  const [first, whole, last] = await Promise.all([
    limiter.take({ accountId, count: 6, limits, partial: true }),
    limiter.take({ accountId, count: 8, limits, partial: false }),
    limiter.take({ accountId, count: 2, limits, partial: true }),
  ]);
  assert.deepEqual([first.granted, whole.granted, last.granted], [6, 0, 2]);
  // The 2 not handed out went back: exactly 2 are left in this second.
  const rest = await limiter.take({ accountId, count: 5, limits, partial: true });
  assert.equal(rest.granted, 2);
});

test('a limiter whose clock is behind counts into the newer window instead of resetting it', async () => {
  const accountId = await account();
  const ahead = new ManualClock(new Date('2026-03-03T12:00:01Z'));
  const behind = new ManualClock(new Date('2026-03-03T12:00:00Z'));
  const limits = { perSecond: 5, perDay: 0 };
  assert.equal((await new RateLimiter(db, ahead).take({ accountId, count: 5, limits, partial: true })).granted, 5);
  assert.equal((await new RateLimiter(other, behind).take({ accountId, count: 5, limits, partial: true })).granted, 0);
});

test('accounts without limits never touch the database; limits are per account', async () => {
  const [a, b] = [await account(), await account()];
  const clock = new ManualClock(new Date('2026-03-04T00:00:00Z'));
  const limiter = new RateLimiter(db, clock);
  assert.equal((await limiter.take({ accountId: a, count: 1000, limits: { perSecond: 0, perDay: 0 }, partial: false })).granted, 1000);
  assert.equal(Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM rate_usage WHERE account_id = $1', [a]))[0]!.n), 0);
  const limits = { perSecond: 3, perDay: 0 };
  const [ga, gb] = await Promise.all([limiter.take({ accountId: a, count: 3, limits, partial: false }), limiter.take({ accountId: b, count: 3, limits, partial: false })]);
  assert.deepEqual([ga.granted, gb.granted], [3, 3]);
});
