import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';
import { ManualClock } from '../../src/shared/clock.js';

/**
 * The relay transport against a real SMTP server on loopback that accepts, refuses with 4xx or
 * 5xx per recipient, or is not there at all. The clock is manual, so retry timing is exact.
 */
const clock = new ManualClock(new Date());
let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let app: TestApp;

before(async () => {
  sink = await startSmtpSink({
    auth: { user: 'relayuser', pass: 's3cret' },
    rcptReply: (address) => {
      if (address.startsWith('unknown')) return [550, '5.1.1 No such user here'];
      if (address.startsWith('busy')) return [451, '4.3.0 Try again later'];
      if (address.startsWith('blocked')) return [554, '5.7.1 Message rejected by policy'];
      return null;
    },
  });
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp(
    { MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: `smtp://relayuser:s3cret@127.0.0.1:${sink.port}?starttls=off`, MAILROOM_MAX_RETRY_HOURS: '2' },
    { clock, store },
  );
});
after(async () => {
  await app.stop();
  await store.dispose();
  await sink.close();
});

async function send(to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to, ...extra } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

interface EventBody {
  type: string;
  timestamp: string;
  details: Record<string, unknown>;
}

async function events(id: string): Promise<EventBody[]> {
  return ((await (await app.api(`/emails/${id}/events`)).json()) as { data: EventBody[] }).data;
}

async function waitForEvent(id: string, type: string): Promise<EventBody[]> {
  return eventually(async () => {
    app.mailroom.worker!.wakeUp();
    const list = await events(id);
    return list.some((event) => event.type === type) ? list : undefined;
  }, 15_000, `${type} for ${id}`);
}

test('accepted by the relay (with AUTH): SENT, with the reply, the sender verified', async () => {
  const id = await send('alice@example.com', { cc: ['Carol <carol@example.com>'], bcc: ['dave@example.com'] });
  const list = await waitForEvent(id, 'SENT');
  assert.deepEqual(list.map((event) => event.type), ['QUEUED', 'SENT']);
  assert.match(String(list[1]!.details.reply), /^250/);
  const message = sink.messages.find((entry) => entry.raw.toString().includes(id));
  assert.ok(message);
  assert.deepEqual(message.to.sort(), ['alice@example.com', 'carol@example.com', 'dave@example.com']);
  // The Return-Path is a VERP address at the sending domain's bounce domain; with several
  // recipients in the transaction it names the message only (`-x-`).
  assert.match(message.from, new RegExp(`^bounces\\+${id}-x-[0-9a-z]{10}@bounces\\.elipackage\\.com$`));
  assert.doesNotMatch(message.raw.toString(), /^Bcc:/im);
  assert.match(message.raw.toString(), /^Cc: Carol <carol@example.com>/m);
});

test('5.1.1 at RCPT: BOUNCED, HARD, with the reply code and enhanced code', async () => {
  const id = await send('unknown@example.com');
  const list = await waitForEvent(id, 'BOUNCED');
  const bounce = list.at(-1)!;
  assert.equal(bounce.details.code, 550);
  assert.equal(bounce.details.enhancedCode, '5.1.1');
  assert.equal(bounce.details.bounceClass, 'HARD');
});

test('a policy 5xx is a bounce but not HARD', async () => {
  const id = await send('blocked@example.com');
  const bounce = (await waitForEvent(id, 'BOUNCED')).at(-1)!;
  assert.equal(bounce.details.bounceClass, 'SOFT');
  assert.equal(bounce.details.enhancedCode, '5.7.1');
});

test('4xx: DEFERRED, retried on the schedule (1 min, then 5 min), then BOUNCED SOFT expired after the retry limit', async () => {
  const id = await send('busy@example.com');
  const start = clock.now().getTime();
  let list = await waitForEvent(id, 'DEFERRED');
  const first = list.at(-1)!;
  assert.equal(first.details.code, 451);
  assert.equal(new Date(String(first.details.nextAttemptAt)).getTime() - start, 60_000);

  // Not due yet: 59 s later nothing happens.
  clock.advance(59_000);
  app.mailroom.worker!.wakeUp();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await events(id)).filter((event) => event.type === 'DEFERRED').length, 1);

  clock.advance(1_000);
  list = await eventually(async () => {
    app.mailroom.worker!.wakeUp();
    const current = await events(id);
    return current.filter((event) => event.type === 'DEFERRED').length === 2 ? current : undefined;
  });
  const second = list.at(-1)!;
  assert.equal(new Date(String(second.details.nextAttemptAt)).getTime() - clock.now().getTime(), 5 * 60_000);

  // MAILROOM_MAX_RETRY_HOURS=2: walk the schedule until the next retry would pass it.
  for (let step = 0; step < 10; step++) {
    clock.advance(60 * 60_000);
    app.mailroom.worker!.wakeUp();
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const final = (await waitForEvent(id, 'BOUNCED')).at(-1)!;
  assert.equal(final.details.bounceClass, 'SOFT');
  assert.equal(final.details.reason, 'expired');
  const { data } = (await (await app.api(`/emails/${id}`)).json()) as { data: { status: string } };
  assert.equal(data.status, 'BOUNCED');
});

test('relay down (connection refused): DEFERRED with the network error, nothing lost', async () => {
  const port = await freePort(); // nothing listens here
  const down = await startTestApp(
    { MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: `smtp://127.0.0.1:${port}?starttls=off` },
    { store: await (async () => { const fresh = await createTestStore(); await prepareStore(fresh, ['elipackage.com']); return fresh; })() },
  );
  try {
    const response = await down.api('/emails', { method: 'POST', json: SEED_REQUEST });
    const { data } = (await response.json()) as { data: { id: string } };
    const list = await eventually(async () => {
      const current = ((await (await down.api(`/emails/${data.id}/events`)).json()) as { data: EventBody[] }).data;
      return current.some((event) => event.type === 'DEFERRED') ? current : undefined;
    });
    assert.match(String(list.at(-1)!.details.reply), /ECONNREFUSED|ECONNECTION|connect/i);
    assert.equal(await countOf(down.mailroom.db, 'SELECT count(*) AS n FROM queue WHERE message_id = $1', [data.id]), 1, 'still queued for a retry');
  } finally {
    await down.mailroom.stop();
    await down.store.dispose();
  }
});

test('with a real transport, an unverified sender domain is refused with 403 and nothing is stored', async () => {
  const count = await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages');
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, from: 'someone@unverified.example' } });
  assert.equal(response.status, 403);
  const body = (await response.json()) as { error: { code: string; details: { field: string }[] } };
  assert.equal(body.error.code, 'SENDER_NOT_VERIFIED');
  assert.equal(body.error.details[0]?.field, 'from');
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM messages'), count);
});
