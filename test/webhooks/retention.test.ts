import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pruneFinishedDeliveries } from '../../src/webhooks/retention.js';
import { startTestApp } from '../helpers/app.js';

/** Finished deliveries past the retention go, with their attempts; pending ones stay, however old. */
test('finished deliveries older than the retention are deleted with their attempts; recent and pending ones stay', async () => {
  const app = await startTestApp({ MAILROOM_ROLES: 'api' });
  try {
    const db = app.mailroom.db;
    const day = 86_400_000;
    const now = Date.now();
    const rows: [number, string, number | null][] = [
      // id, status, finished days ago (null: pending)
      [1, 'delivered', 40], [2, 'failed', 31], [3, 'delivered', 29], [4, 'pending', null], [5, 'delivered', 100],
    ];
    for (const [id, status, daysAgo] of rows) {
      const created = new Date(now - 120 * day);
      const finished = daysAgo === null ? null : new Date(now - daysAgo * day);
      await db.query(
        `INSERT INTO webhook_deliveries (id, account_id, lane, webhook_id, url, event_id, status, due_at, created_at, finished_at) VALUES ($1, 1, 'callback:1:https://r.example/', NULL, 'https://r.example/', $1, $2, $3, $3, $4)`,
        [id, status, created, finished],
      );
      await db.query(
        `INSERT INTO webhook_attempts (delivery_id, account_id, webhook_id, event_id, url, attempted_at, duration_ms, status_code) VALUES ($1, 1, NULL, $1, 'https://r.example/', $2, 5, 204)`,
        [id, finished ?? created],
      );
    }
    assert.equal(await pruneFinishedDeliveries(db, new Date(now - 30 * day)), 3);
    const left = await db.query<{ id: number }>('SELECT id FROM webhook_deliveries ORDER BY id');
    assert.deepEqual(left.map((row) => Number(row.id)), [3, 4]);
    const attempts = await db.query<{ delivery_id: number }>('SELECT delivery_id FROM webhook_attempts ORDER BY delivery_id');
    assert.deepEqual(attempts.map((row) => Number(row.delivery_id)), [3, 4]);
    assert.equal(await pruneFinishedDeliveries(db, new Date(now - 30 * day)), 0, 'nothing more to delete');
  } finally {
    await app.stop();
  }
});
