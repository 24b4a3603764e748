import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrate } from '../../src/db/migrate.js';
import { createTestStore } from '../helpers/database.js';

/**
 * Migration 013: suppression entries stored with control or invisible characters before the API
 * refused them ("a@example.com\r\nx") are removed; every other entry stays as it is.
 */
test('migration 013 removes suppression entries with control or invisible characters, and only those', async () => {
  const store = await createTestStore();
  const db = await store.open();
  try {
    await migrate(db);
    const [account] = await db.query<{ id: number }>("INSERT INTO accounts (name, callback_secret) VALUES ('legacy', 'secret') RETURNING id");
    const kept = ['ok@example.com', "o'brien@example.ie", 'zoë@example.com', 'info@xn--bcher-kva.de', '"john doe"@example.com', '-dash@example.com'];
    const removed = ['a@example.com\r\nx', 'b@exa\tmple.com', 'c\u0085@example.com', 'd@exa\u200bmple.com', 'e@ex\u00adample.com', 'f\u2028@example.com', 'g\u007f@example.com', 'h@exa\ufeffmple.com'];
    for (const address of [...kept, ...removed]) {
      await db.query("INSERT INTO suppressions (account_id, address, reason, created_at) VALUES ($1, $2, 'MANUAL', now())", [account!.id, address]);
    }
    // As if this installation ran the version before the migration.
    await db.query('DELETE FROM schema_migrations WHERE version = 13');
    assert.deepEqual(await migrate(db), ['013_suppression_characters']);
    const left = (await db.query<{ address: string }>('SELECT address FROM suppressions WHERE account_id = $1', [account!.id])).map((row) => row.address);
    assert.deepEqual(left.sort(), [...kept].sort());
  } finally {
    await db.close();
    await store.dispose();
  }
});
