import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../../src/queue/queue.js';
import { SEED_REQUEST, startTestApp } from '../helpers/app.js';
import { onPostgres } from '../helpers/database.js';

/**
 * A worker renews its leases while its own result batches delete and reschedule the same queue
 * rows. If the renewal waited for a row locked by such a batch, the two made a lock cycle;
 * PostgreSQL broke it after a second by failing the batch, and the results waiting meanwhile
 * were what a crash then sent twice. The renewal must skip a locked row, never wait for it.
 * (PGlite runs one statement at a time on one connection: no second holder of a lock exists.)
 */
test('a lease renewal skips a queue row another transaction has locked, and renews the rest', { skip: onPostgres ? false : 'needs a second connection (PostgreSQL)' }, async () => {
  const app = await startTestApp({ MAILROOM_ROLES: 'api' });
  const other = await app.store.open();
  try {
    const ids: string[] = [];
    for (const to of ['renew-a@example.com', 'renew-b@example.com']) {
      const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [], to } });
      ids.push(((await response.json()) as { data: { id: string } }).data.id);
    }
    const [locked, free] = ids as [string, string];
    const before = new Date('2030-01-01T00:00:00Z');
    await app.mailroom.db.query(`UPDATE queue SET lease_token = 'T', due_at = $1 WHERE message_id = ANY($2::text[])`, [before, ids]);

    const until = new Date('2031-01-01T00:00:00Z');
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let lockTaken!: () => void;
    const taken = new Promise<void>((resolve) => (lockTaken = resolve));
    const transaction = other.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM queue WHERE message_id = $1 FOR UPDATE', [locked]);
      lockTaken();
      await holding;
    });
    await taken;
    try {
      const renewal = new Queue(app.mailroom.db).renew(['T'], until);
      const outcome = await Promise.race([
        renewal.then(() => 'returned'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3_000)),
      ]);
      assert.equal(outcome, 'returned', 'the renewal does not wait for the locked row');
    } finally {
      release();
      await transaction;
    }
    const rows = await app.mailroom.db.query<{ message_id: string; due_at: Date }>('SELECT message_id, due_at FROM queue WHERE message_id = ANY($1::text[])', [ids]);
    const dueOf = new Map(rows.map((row) => [row.message_id, new Date(row.due_at).toISOString()]));
    assert.equal(dueOf.get(free), until.toISOString(), 'the unlocked row is renewed');
    assert.equal(dueOf.get(locked), before.toISOString(), 'the locked row is left to its holder');
  } finally {
    await other.close();
    await app.stop();
  }
});
