import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import type { DestinationSummary } from '../../src/queue/admin.js';
import { ManualClock } from '../../src/shared/clock.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

/** Queue administration: per-destination summary, retry now, cancel; all scoped to the account. */
const clock = new ManualClock(new Date());
let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let app: TestApp;

before(async () => {
  sink = await startSmtpSink({ rcptReply: (address) => (address.endsWith('@slow.example') ? [451, '4.7.1 Greylisted, try again'] : null) });
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({ MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: `${sink.url}?starttls=off` }, { clock, store });
});
after(async () => {
  await app.stop();
  await store.dispose();
  await sink.close();
});

async function send(extra: Record<string, unknown>): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, ...extra } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

async function eventTypes(id: string): Promise<string[]> {
  const body = (await (await app.api(`/emails/${id}/events`)).json()) as { data: { type: string }[] };
  return body.data.map((event) => event.type);
}

type Summary = DestinationSummary;

test('a scheduled email shows in the queue summary and can be canceled once; it ends REJECTED (canceled)', async () => {
  const id = await send({ to: 'later@future.example', sendAt: new Date(clock.now().getTime() + 3_600_000).toISOString() });
  const summary = (await (await app.api('/queue')).json()) as { data: Summary[] };
  const entry = summary.data.find((item) => item.destination === 'future.example');
  assert.deepEqual({ ...entry, nextAttemptAt: undefined }, {
    destination: 'future.example', attempted: false, domains: ['future.example'], queued: 0, deferred: 0, scheduled: 1, inDelivery: 0,
    nextAttemptAt: undefined, oldestQueuedAt: entry?.oldestQueuedAt,
  });

  const cancel = await app.api(`/emails/${id}/cancel`, { method: 'POST' });
  assert.equal(cancel.status, 200);
  assert.deepEqual(((await cancel.json()) as { data: unknown }).data, { id, status: 'REJECTED' });
  const events = (await (await app.api(`/emails/${id}/events`)).json()) as { data: { type: string; details: Record<string, unknown> }[] };
  assert.deepEqual(events.data.map((event) => event.type), ['SCHEDULED', 'REJECTED']);
  assert.deepEqual(events.data[1]!.details, { reason: 'CANCELED' });
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM queue WHERE message_id = $1', [id]), 0);

  const again = await app.api(`/emails/${id}/cancel`, { method: 'POST' });
  assert.equal(again.status, 409);
  assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'NOT_CANCELABLE');
  assert.equal((await app.api('/emails/nosuchid/cancel', { method: 'POST' })).status, 404);
});

test('a delivered email cannot be canceled', async () => {
  const id = await send({ to: 'fast@example.com' });
  await eventually(async () => ((await eventTypes(id)).includes('SENT') ? true : undefined));
  const response = await app.api(`/emails/${id}/cancel`, { method: 'POST' });
  assert.equal(response.status, 409);
});

test('a deferred destination is listed, and "retry now" makes it due at once without waiting for the back-off', async () => {
  const first = await send({ to: 'a@slow.example' });
  const second = await send({ to: 'b@slow.example' });
  for (const id of [first, second]) await eventually(async () => ((await eventTypes(id)).includes('DEFERRED') ? true : undefined));
  const summary = (await (await app.api('/queue')).json()) as { data: Summary[] };
  // Once attempted, the destination is where the attempt went: here the relay.
  const slow = summary.data.find((item) => item.domains.includes('slow.example'));
  assert.equal(slow?.destination, `127.0.0.1:${sink.port}`);
  assert.equal(slow?.attempted, true);
  assert.equal(slow?.deferred, 2);
  assert.equal(new Date(slow!.nextAttemptAt!).getTime() - clock.now().getTime(), 60_000, 'next attempt on the 1-minute back-off');

  // The clock does not move: only "retry now" can bring the next attempt.
  const one = await app.api(`/emails/${first}/retry`, { method: 'POST' });
  assert.deepEqual(((await one.json()) as { data: unknown }).data, { id: first, retried: 1 });
  await eventually(async () => ((await eventTypes(first)).filter((type) => type === 'DEFERRED').length === 2 ? true : undefined));
  assert.equal((await eventTypes(second)).filter((type) => type === 'DEFERRED').length, 1);

  const all = await app.api('/queue/retry', { method: 'POST', json: { domain: 'slow.example' } });
  assert.equal(((await all.json()) as { data: { retried: number } }).data.retried, 2);
  await eventually(async () => ((await eventTypes(second)).filter((type) => type === 'DEFERRED').length === 2 ? true : undefined));
});

test("another account sees none of this account's queue and cannot cancel or retry its emails", async () => {
  await createAccount(app.mailroom.db, app.mailroom.secrets, 'other');
  const { key } = await createKey(app.mailroom.db, { accountName: 'other' });
  const id = await send({ to: 'c@slow.example', sendAt: new Date(clock.now().getTime() + 3_600_000).toISOString() });
  const summary = (await (await app.api('/queue', { key })).json()) as { data: Summary[] };
  assert.deepEqual(summary.data, []);
  assert.equal((await app.api(`/emails/${id}/cancel`, { method: 'POST', key })).status, 404);
  const retry = await app.api(`/emails/${id}/retry`, { method: 'POST', key });
  assert.equal(((await retry.json()) as { data: { retried: number } }).data.retried, 0);
  assert.deepEqual(await eventTypes(id), ['SCHEDULED']);
});
