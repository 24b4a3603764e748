import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf } from '../helpers/database.js';

/** Issue 19: what the sandbox caught never left the machine, so it is no delivery for the account's bounce-rate volume. */
let app: TestApp;
before(async () => {
  app = await startTestApp({ MAILROOM_TRANSPORT: 'sandbox' });
});
after(() => app.stop());

test('sandbox deliveries do not count toward the reputation volume', async () => {
  for (let index = 0; index < 3; index++) {
    assert.equal((await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: `caught${index}@example.com` } })).status, 200);
  }
  await eventually(async () => (await countOf(app.mailroom.db, "SELECT count(*) AS n FROM messages WHERE status = 'DELIVERED'")) === 3, 15_000, 'three caught');
  const events = await app.mailroom.db.query<{ details: { transport?: string } }>("SELECT details FROM message_events WHERE type = 'DELIVERED'");
  assert.ok(events.length === 3 && events.every((event) => event.details.transport === 'sandbox'), 'delivered by the sandbox');
  const { data } = (await (await app.api('/account/reputation')).json()) as { data: { outcomes: number } };
  assert.equal(data.outcomes, 0);
});
