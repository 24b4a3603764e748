import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { foldStatus, nextStatus, type EventType } from '../../src/events/status.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';

test('status transitions: progress, final states, late news, engagement', () => {
  assert.equal(nextStatus(null, 'QUEUED'), 'QUEUED');
  assert.equal(nextStatus('QUEUED', 'DEFERRED'), 'DEFERRED');
  assert.equal(nextStatus('DEFERRED', 'DELIVERED'), 'DELIVERED');
  assert.equal(nextStatus('SCHEDULED', 'QUEUED'), 'QUEUED');
  // Engagement never moves the status.
  assert.equal(nextStatus('DELIVERED', 'OPENED'), 'DELIVERED');
  assert.equal(nextStatus('DELIVERED', 'CLICKED'), 'DELIVERED');
  // Late news after hand-over.
  assert.equal(nextStatus('DELIVERED', 'BOUNCED'), 'BOUNCED');
  assert.equal(nextStatus('DELIVERED', 'COMPLAINED'), 'COMPLAINED');
  assert.equal(nextStatus('SENT', 'DELIVERED'), 'DELIVERED');
  // A final state is not moved back.
  assert.equal(nextStatus('DELIVERED', 'QUEUED'), 'DELIVERED');
  assert.equal(nextStatus('DELIVERED', 'DEFERRED'), 'DELIVERED');
  assert.equal(nextStatus('BOUNCED', 'DELIVERED'), 'BOUNCED');
  assert.equal(nextStatus('REJECTED', 'QUEUED'), 'REJECTED');
  assert.equal(nextStatus('FAILED', 'DELIVERED'), 'FAILED');
  const events: EventType[] = ['QUEUED', 'DEFERRED', 'DEFERRED', 'DELIVERED', 'OPENED', 'CLICKED', 'BOUNCED', 'OPENED'];
  assert.equal(foldStatus(events), 'BOUNCED');
});

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

test('every stored status equals the fold of its events', async () => {
  const ids: string[] = [];
  for (let index = 0; index < 20; index++) {
    const sendAt = index % 5 === 0 ? { sendAt: new Date(Date.now() + 3_600_000).toISOString() } : {};
    const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, ...sendAt } });
    ids.push(((await response.json()) as { data: { id: string } }).data.id);
  }
  await eventually(async () => {
    const rows = await app.mailroom.db.query<{ n: number }>(`SELECT count(*) AS n FROM messages WHERE status = 'DELIVERED'`);
    return Number(rows[0]?.n) === 16 || undefined;
  });
  const messages = await app.mailroom.db.query<{ id: string; status: string }>('SELECT id, status FROM messages');
  assert.equal(messages.length, 20);
  const statuses = new Map<string, number>();
  for (const message of messages) {
    const events = await app.mailroom.db.query<{ type: EventType }>('SELECT type FROM message_events WHERE message_id = $1 ORDER BY id', [message.id]);
    assert.equal(foldStatus(events.map((event) => event.type)), message.status, `message ${message.id}`);
    statuses.set(message.status, (statuses.get(message.status) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(statuses), { DELIVERED: 16, SCHEDULED: 4 });
});
