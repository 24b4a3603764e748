import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../src/shared/clock.js';
import { messageIdFloor, newMessageId } from '../../src/shared/ids.js';
import { SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * GET /emails?after=&before=: the range is on created_at (after inclusive, before exclusive, to
 * the millisecond), and the list query also bounds it by id (src/sending/messages.sql), which is
 * only right because a message's id begins with the same clock reading as its created_at. These
 * messages sit on the edges of a day, a millisecond apart.
 */
const TIMES = ['2026-03-01T23:59:59.999Z', '2026-03-02T00:00:00.000Z', '2026-03-02T00:00:00.001Z', '2026-03-03T00:00:00.000Z'];
const clock = new ManualClock(new Date(TIMES[0]!));
let app: TestApp;
const sent = new Map<string, string>();

before(async () => {
  app = await startTestApp({ MAILROOM_ROLES: 'api' }, { clock });
  for (const time of TIMES) {
    clock.advance(Date.parse(time) - clock.now().getTime());
    const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, externalId: time } });
    assert.equal(response.status, 200, await response.clone().text());
    sent.set(((await response.json()) as { data: { id: string } }).data.id, time);
  }
});
after(async () => app?.stop());

/** The created times of the listed messages, newest first, following the cursors with pages of `limit`. */
async function listed(query: string, limit = 100): Promise<string[]> {
  const times: string[] = [];
  let cursor: string | null = null;
  do {
    const response = await app.api(`/emails?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const page = JSON.parse(text) as { data: { id: string; createdAt: string }[]; meta: { pagination: { nextCursor: string | null } } };
    for (const message of page.data) {
      assert.equal(message.createdAt, sent.get(message.id));
      times.push(message.createdAt);
    }
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  return times;
}

test('after is inclusive and before exclusive, to the millisecond, on dates and date-times', async () => {
  const [a, b, c, d] = TIMES;
  assert.deepEqual(await listed('after=2026-03-02'), [d, c, b]);
  assert.deepEqual(await listed('before=2026-03-02'), [a]);
  assert.deepEqual(await listed('after=2026-03-02&before=2026-03-03'), [c, b]);
  assert.deepEqual(await listed('after=2026-03-02T00:00:00.001Z'), [d, c]);
  assert.deepEqual(await listed('after=2026-03-01&before=2026-03-02T00:00:00.001Z'), [b, a]);
  assert.deepEqual(await listed('after=2026-03-01T23:59:59.999Z&before=2026-03-01T23:59:59.999Z'), []);
  assert.deepEqual(await listed(`after=${encodeURIComponent('2026-03-02T01:00:00.000+01:00')}`), [d, c, b]);
});

test('a range pages by cursor like the whole list', async () => {
  const [, b, c, d] = TIMES;
  assert.deepEqual(await listed('after=2026-03-02', 1), [d, c, b]);
  assert.deepEqual(await listed('after=2026-03-02&before=2026-03-03&status=QUEUED', 1), [c, b]);
});

test('dates far from now: before 1970 and in year 9999', async () => {
  const newestFirst = [...TIMES].reverse();
  assert.deepEqual(await listed('after=1900-01-01'), newestFirst);
  assert.deepEqual(await listed('before=1969-12-31'), []);
  assert.deepEqual(await listed('after=1969-12-31&before=9999-12-31'), newestFirst);
  assert.deepEqual(await listed('after=9999-12-31'), []);
});

test('messageIdFloor is the lowest id of its millisecond and above every id before it', () => {
  for (const time of [0, 1, 31, 32, Date.parse(TIMES[1]!), Date.parse('9999-12-31')]) {
    const floor = messageIdFloor(time);
    assert.equal(floor, newMessageId(time).slice(0, 10));
    assert.ok(newMessageId(time) > floor);
    if (time > 0) assert.ok(newMessageId(time - 1) < floor);
  }
  assert.equal(messageIdFloor(-86_400_000), '0000000000');
});
