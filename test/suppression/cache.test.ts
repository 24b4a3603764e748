import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { SuppressionCache } from '../../src/suppression/cache.js';
import { addSuppressions, deleteSuppression, SuppressionChecker } from '../../src/suppression/suppressions.js';
import { eventually } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';

/**
 * The in-memory copy the SMTP door checks RCPT TO against: it must follow every change to the
 * table, including changes made by statements that do not know about it (the bounce trigger,
 * another process), through the NOTIFY of migration 007.
 */
let store: TestStore;
let db: Database;
let cache: SuppressionCache;

before(async () => {
  store = await createTestStore();
  db = await store.open();
  await migrate(db);
  await db.query("INSERT INTO accounts (name, callback_secret) VALUES ('one', 's'), ('two', 's')");
  cache = new SuppressionCache(db, new SuppressionChecker(db));
  await cache.start();
});
after(async () => {
  await cache?.stop();
  await db?.close();
  await store?.dispose();
});

test('a change made behind its back reaches the copy through NOTIFY; accounts are apart', async () => {
  assert.equal(await cache.isSuppressed(1, 'a@example.com'), false);
  assert.equal(await cache.isSuppressed(2, 'a@example.com'), false);

  // Written straight to the table, as the bounce trigger or another process would.
  await addSuppressions(db, 1, [{ address: 'A@Example.com', reason: 'HARD_BOUNCE' }], new Date());
  await eventually(async () => cache.isSuppressed(1, 'a@example.com'), 5_000, 'the NOTIFY of the insert');
  assert.equal(await cache.isSuppressed(1, 'A@EXAMPLE.COM'), true, 'addresses compare case-insensitively');
  assert.equal(await cache.isSuppressed(2, 'a@example.com'), false, 'another account is not affected');

  await deleteSuppression(db, 1, 'a@example.com');
  await eventually(async () => !(await cache.isSuppressed(1, 'a@example.com')), 5_000, 'the NOTIFY of the delete');
});

test("this process's own writes are seen at once (invalidate), before any notification", async () => {
  assert.equal(await cache.isSuppressed(2, 'b@example.com'), false);
  await addSuppressions(db, 2, [{ address: 'b@example.com', reason: 'MANUAL' }], new Date());
  cache.invalidate(2);
  assert.equal(await cache.isSuppressed(2, 'b@example.com'), true);
});
