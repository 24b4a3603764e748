import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/shared/clock.js';
import { Engagement } from '../../src/tracking/engagement.js';
import { SEED_REQUEST, startTestApp } from '../helpers/app.js';

/** Hits that arrive together are written in one statement: first-or-repeat must still be exact. */
test('hits written in one batch: only the earliest of each kind (and link) is the first; an unknown message records nothing', async () => {
  const app = await startTestApp({ MAILROOM_ROLES: 'api' });
  try {
    const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [] } });
    const id = ((await response.json()) as { data: { id: string } }).data.id;
    const engagement = new Engagement(app.mailroom.db, systemClock);
    const visitor = { method: 'GET', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)', ip: '192.0.2.1' };
    const found = await Promise.all([
      engagement.opened(id, visitor),
      engagement.clicked(id, { index: 0, url: 'https://a.example/' }, visitor),
      engagement.opened(id, visitor),
      engagement.clicked(id, { index: 1, url: 'https://b.example/' }, visitor),
      engagement.clicked(id, { index: 0, url: 'https://a.example/' }, visitor),
      engagement.opened('NOSUCHMESSAGE0000000000000', visitor),
    ]);
    assert.deepEqual(found, [true, true, true, true, true, false]);
    await engagement.opened(id, visitor);
    const rows = await app.mailroom.db.query<{ type: string; url: string | null; first: boolean }>(
      `SELECT type, details->>'url' AS url, (details->>'first')::boolean AS first FROM message_events WHERE message_id = $1 AND type IN ('OPENED', 'CLICKED') ORDER BY id`, [id]);
    assert.deepEqual(rows.map((row) => [row.type, row.url, row.first]), [
      ['OPENED', null, true],
      ['CLICKED', 'https://a.example/', true],
      ['OPENED', null, false],
      ['CLICKED', 'https://b.example/', true],
      ['CLICKED', 'https://a.example/', false],
      ['OPENED', null, false],
    ]);
    assert.equal((await app.mailroom.db.query(`SELECT 1 FROM message_events WHERE message_id = 'NOSUCHMESSAGE0000000000000'`)).length, 0);
  } finally {
    await app.stop();
  }
});
