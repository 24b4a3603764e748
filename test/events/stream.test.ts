import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventCursor } from '../../src/events/stream.js';
import { startTestApp } from '../helpers/app.js';

/**
 * Event ids are taken when a row is written, but transactions commit in their own order: the
 * cursor must still return an event whose smaller id became visible after larger ones, once.
 */
test('an event that commits after events with larger ids is still read, once; then the cursor settles', async () => {
  const app = await startTestApp({ MAILROOM_ROLES: 'api' });
  try {
    const db = app.mailroom.db;
    const insert = (id: number) => db.query(`INSERT INTO message_events (id, message_id, account_id, type, created_at, details) VALUES ($1, NULL, 1, 'WEBHOOK_TEST', now(), '{}')`, [id]);
    const base = 1_000_000;
    const cursor = await EventCursor.open(db, 1, base, []);
    const ids = async (now: number) => (await cursor.next(now)).map((event) => event.id - base);

    await insert(base + 1);
    await insert(base + 3);
    assert.deepEqual(await ids(0), [1, 3]);
    await insert(base + 2); // committed late
    assert.deepEqual(await ids(500), [2]);
    assert.deepEqual(await ids(1_000), [], 'nothing twice');
    await insert(base + 4);
    assert.deepEqual(await ids(5_000), [4], 'after the window the cursor moves past what it sent');
    assert.deepEqual(await ids(10_000), []);
    assert.deepEqual(await (await EventCursor.open(db, 2, base, [])).next(), [], 'another account reads none of them');
    assert.deepEqual((await (await EventCursor.open(db, 1, base, ['DELIVERED'])).next()).length, 0, 'a type filter');
    assert.deepEqual((await (await EventCursor.open(db, 1, null, [])).next()).length, 0, 'opened at the end of the log');
  } finally {
    await app.stop();
  }
});
