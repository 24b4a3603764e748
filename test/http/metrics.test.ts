import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requireAccount } from '../../src/accounts/accounts.js';
import { addDomain } from '../../src/domains/domains.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
before(async () => {
  app = await startTestApp();
  // A key for the sender's domain, so that the messages are signed and signing is timed.
  const account = await requireAccount(app.mailroom.db, 'default');
  await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, SEED_REQUEST.from.replace(/^.*@/, ''), { verified: true });
});
after(() => app.stop());

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('GET /metrics: accepted, deliveries by outcome, DKIM and delivery timings, queue depth and age per destination', async () => {
  for (let index = 0; index < 3; index++) {
    assert.equal((await app.api('/emails', { method: 'POST', json: SEED_REQUEST })).status, 200);
  }
  const later = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to: 'later@waiting.example', sendAt: later } })).status, 200);

  const text = await eventually(async () => {
    const response = await app.api('/metrics', { key: null });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const body = await response.text();
    // Counted when the transport answers; the queue row goes when the result is recorded just after.
    const delivered = value(body, 'mailroom_deliveries_total{outcome="delivered",transport="sandbox",reason="none"}') === 3;
    const left = value(body, 'mailroom_queue_depth{destination="example.com"}') === undefined;
    return delivered && left ? body : undefined;
  }, 15_000, 'three sandbox deliveries counted and recorded');
  assert.equal(value(text, 'mailroom_messages_accepted_total'), 4);
  assert.equal(value(text, 'mailroom_dkim_sign_duration_seconds_count'), 3);
  assert.equal(value(text, 'mailroom_delivery_duration_seconds_count{transport="sandbox"}'), 3);
  assert.equal(value(text, 'mailroom_queue_depth{destination="waiting.example"}'), 1);
  const age = value(text, 'mailroom_queue_oldest_age_seconds{destination="waiting.example"}');
  assert.ok(age !== undefined && age >= 0 && age < 60, `oldest age ${age}`);
  assert.match(text, /^mailroom_process_cpu_user_seconds_total /m);
});
