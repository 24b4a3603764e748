import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ManualClock } from '../../src/shared/clock.js';
import { eventually, otherAccountKey, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { startWebhookReceiver, type Received, type WebhookReceiver } from '../helpers/webhookReceiver.js';

/**
 * Webhooks and callbacks end to end (SPEC section 5): a whole Mailroom (sandbox transport, its
 * worker and webhook dispatcher) on a manual clock, and a real HTTP receiver that goes down and
 * comes back. Signatures are checked with the `standardwebhooks` package.
 */

interface EventView {
  id: number;
  type: string;
  messageId: string;
}

/** Whether one of the request's v1 signatures is that of `secret`, computed by the standardwebhooks package. */
function signedWith(received: Received, secret: string): boolean {
  const timestamp = new Date(Number(received.headers['webhook-timestamp']) * 1000);
  const expected = new Webhook(secret).sign(received.headers['webhook-id']!, timestamp, received.body);
  return received.headers['webhook-signature']!.split(' ').includes(expected);
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  assert.ok(response.ok, `${response.status}: ${text}`);
  return (JSON.parse(text) as { data: T }).data;
}

async function send(app: TestApp, fields: Record<string, unknown> = {}): Promise<string> {
  return (await json<{ id: string }>(await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [], ...fields } }))).id;
}

/** Moves the clock on and wakes the dispatcher until `check` holds (each step lets retries fall due). */
async function advanceUntil(app: TestApp, clock: ManualClock, stepMs: number, check: () => boolean | Promise<boolean>, what: string, maxSteps = 200): Promise<void> {
  for (let step = 0; step < maxSteps; step++) {
    if (await check()) return;
    clock.advance(stepMs);
    app.mailroom.webhooks!.wakeUp();
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  assert.fail(`never: ${what}`);
}

describe('a receiver that is down for a while', () => {
  const clock = new ManualClock(new Date());
  let app: TestApp;
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
    app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_TRANSPORT: 'sandbox' }, { clock });
  });
  after(async () => {
    await app.stop();
    await receiver.close();
  });

  test('loses no event, keeps the order per endpoint, and signs every request', { timeout: 60_000 }, async () => {
    const webhook = await json<{ id: number; secret: string }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/hook`, description: 'all events' } }));
    const account = await json<{ callbackSecret: string }>(await app.api('/account'));
    await receiver.down();

    const ids: string[] = [];
    for (let index = 0; index < 12; index++) ids.push(await send(app, { externalId: `order-${index}`, callbacks: [`${receiver.base}/cb?n=1`] }));
    // Every message delivered by the sandbox: QUEUED and DELIVERED for each, all waiting for the receiver.
    const events = new Map<string, EventView[]>();
    await eventually(async () => {
      for (const id of ids) events.set(id, await json<EventView[]>(await app.api(`/emails/${id}/events`)));
      return [...events.values()].every((list) => list.some((event) => event.type === 'DELIVERED'));
    }, 20_000, 'every message DELIVERED');
    const attempts = await eventually(async () => {
      const list = await json<{ error: string | null; deliveryStatus: string }[]>(await app.api(`/webhooks/${webhook.id}/attempts`));
      return list.length > 0 ? list : undefined;
    }, 10_000, 'a failed attempt while the receiver is down');
    assert.match(attempts[0]!.error!, /ECONNREFUSED/);
    assert.equal(attempts[0]!.deliveryStatus, 'pending');
    assert.equal(receiver.received.length, 0);

    // Back, but answering 503 at first: that is a failure too.
    await receiver.up();
    receiver.answer = ({ count }) => (count <= 2 ? 503 : 204);
    const allEvents = [...events.values()].flat();
    await advanceUntil(app, clock, 60_000, () => receiver.received.filter((r) => r.status === 204).length >= allEvents.length * 2, 'every event at both endpoints');

    for (const path of ['/hook', '/cb?n=1']) {
      const accepted = receiver.received.filter((r) => r.path === path && r.status === 204);
      const secret = path === '/hook' ? webhook.secret : account.callbackSecret;
      assert.deepEqual(accepted.map((r) => r.json.id), allEvents.map((event) => event.id).sort((a, b) => a - b), `${path}: every event once, in event order`);
      for (const request of accepted) {
        assert.ok(signedWith(request, secret), `${path}: ${request.headers['webhook-id']} is signed with its secret`);
        assert.equal(request.headers['webhook-id'], `evt_${request.json.id}`);
        assert.equal(request.headers['content-type'], 'application/json');
      }
    }
    // The payload: the event of SPEC section 4 with the message's identifiers.
    const first = receiver.received.find((r) => r.path === '/hook' && r.status === 204)!.json;
    const message = allEvents.find((event) => event.id === first.id)!;
    assert.deepEqual(
      { ...first, timestamp: typeof first.timestamp },
      {
        id: message.id, type: 'QUEUED', messageId: message.messageId, externalId: 'order-0', clientId: SEED_REQUEST.clientId, alias: SEED_REQUEST.alias,
        campaignId: null, tags: [], to: SEED_REQUEST.to, from: SEED_REQUEST.from, timestamp: 'string', details: {},
      },
    );
    // Every attempt is listed, the failed ones with why.
    const listed = await json<{ statusCode: number | null; error: string | null }[]>(await app.api(`/webhooks/${webhook.id}/attempts?limit=100`));
    assert.ok(listed.some((attempt) => attempt.statusCode === 503 && attempt.error === 'the receiver answered 503'));
    assert.ok(listed.some((attempt) => /ECONNREFUSED/.test(attempt.error ?? '')));
    const callbacks = await json<{ url: string; statusCode: number | null }[]>(await app.api(`/emails/${ids[0]}/callbacks`));
    assert.ok(callbacks.every((attempt) => attempt.url === `${receiver.base}/cb?n=1`));
    assert.ok(callbacks.filter((attempt) => attempt.statusCode === 204).length === 2, 'QUEUED and DELIVERED reached the callback');
    // The message's page lists its webhook attempts apart from its callbacks', each with its webhook.
    const hooked = await json<{ webhookId: number | null; url: string; eventType: string; statusCode: number | null; messageId: string }[]>(await app.api(`/emails/${ids[0]}/webhook-attempts`));
    assert.ok(hooked.length >= 2 && hooked.every((attempt) => attempt.webhookId === webhook.id && attempt.messageId === ids[0] && attempt.url === `${receiver.base}/hook`), 'only the webhook\'s attempts, of this message');
    assert.deepEqual([...new Set(hooked.filter((attempt) => attempt.statusCode === 204).map((attempt) => attempt.eventType))].sort(), ['DELIVERED', 'QUEUED']);
    assert.ok(callbacks.every((attempt) => (attempt as { webhookId?: number | null }).webhookId === null), 'a callback has no webhook');
    assert.equal((await app.api(`/emails/${ids[0]}/webhook-attempts`, { key: await otherAccountKey(app, 'nosy-co') })).status, 404, "another account's message");
  });
});

describe('subscriptions, rotation, test events, redelivery', () => {
  const clock = new ManualClock(new Date());
  let app: TestApp;
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
    app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' }, { clock });
  });
  after(async () => {
    await app.stop();
    await receiver.close();
  });

  test('a webhook gets only the event types it subscribes to; its secret is never listed', async () => {
    const delivered = await json<{ id: number; eventTypes: string[] }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/delivered`, eventTypes: ['DELIVERED'] } }));
    assert.deepEqual(delivered.eventTypes, ['DELIVERED']);
    const id = await send(app, { campaignId: 'spring', tags: ['a', 'b'] });
    await eventually(async () => receiver.received.some((r) => r.path === '/delivered' && r.json.messageId === id), 15_000, 'the DELIVERED event');
    const got = receiver.received.filter((r) => r.path === '/delivered' && r.json.messageId === id);
    assert.deepEqual(got.map((r) => r.json.type), ['DELIVERED']);
    assert.equal(got[0]!.json.campaignId, 'spring');
    assert.deepEqual(got[0]!.json.tags, ['a', 'b']);
    const listed = await (await app.api('/webhooks')).text();
    assert.doesNotMatch(listed, /whsec_/);
    const bad = await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/x`, eventTypes: ['SHIPPED'] } });
    assert.equal(bad.status, 400);
    await app.api(`/webhooks/${delivered.id}`, { method: 'DELETE' });
  });

  test('after a rotation both secrets sign for 24 hours, then only the new one', async () => {
    const hook = await json<{ id: number; secret: string }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/rotating`, eventTypes: ['QUEUED'] } }));
    const rotated = await json<{ secret: string; previousSecretUntil: string }>(await app.api(`/webhooks/${hook.id}/rotate-secret`, { method: 'POST' }));
    assert.notEqual(rotated.secret, hook.secret);
    assert.equal(new Date(rotated.previousSecretUntil).getTime(), clock.now().getTime() + 24 * 3600_000);
    await send(app);
    const during = await eventually(async () => receiver.received.find((r) => r.path === '/rotating'), 10_000, 'a delivery during the overlap');
    assert.ok(signedWith(during, hook.secret) && signedWith(during, rotated.secret));
    assert.ok(new Webhook(rotated.secret).verify(during.body, during.headers), 'standardwebhooks verifies it (timestamp within its tolerance)');

    clock.advance(24 * 3600_000 + 1_000);
    await send(app);
    const later = await eventually(async () => receiver.received.filter((r) => r.path === '/rotating')[1], 10_000, 'a delivery after the overlap');
    assert.ok(signedWith(later, rotated.secret));
    assert.equal(signedWith(later, hook.secret), false);
    await app.api(`/webhooks/${hook.id}`, { method: 'DELETE' });
  });

  test('a test event goes to that webhook alone; any delivery can be sent again', async () => {
    const one = await json<{ id: number }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/one`, eventTypes: ['DELIVERED'] } }));
    const other = await json<{ id: number }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/other` } }));
    const queued = await json<{ deliveryId: number; eventId: number }>(await app.api(`/webhooks/${one.id}/test`, { method: 'POST' }));
    // Events of messages from earlier tests (a late DELIVERED) may reach these webhooks too:
    // only the test events count here.
    const testEvents = (path: string) => receiver.received.filter((r) => r.path === path && r.json.type === 'WEBHOOK_TEST');
    const test = await eventually(async () => testEvents('/one')[0], 10_000, 'the test event');
    assert.equal(test.json.type, 'WEBHOOK_TEST');
    assert.equal(test.json.id, queued.eventId);
    assert.equal(test.json.messageId, null);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(testEvents('/other').length, 0);

    const again = await json<{ deliveryId: number }>(await app.api(`/webhooks/${one.id}/deliveries/${queued.deliveryId}/redeliver`, { method: 'POST' }));
    assert.notEqual(again.deliveryId, queued.deliveryId);
    await eventually(async () => testEvents('/one').length === 2, 10_000, 'the redelivery');
    const [first, second] = testEvents('/one');
    assert.equal(second!.headers['webhook-id'], first!.headers['webhook-id'], 'the same webhook-id: receivers deduplicate on it');
    assert.equal((await app.api(`/webhooks/${other.id}/deliveries/${queued.deliveryId}/redeliver`, { method: 'POST' })).status, 404);
    assert.equal((await app.api('/webhooks/999999/test', { method: 'POST' })).status, 404);
    for (const id of [one.id, other.id]) await app.api(`/webhooks/${id}`, { method: 'DELETE' });
  });
});

describe('a webhook that fails for 24 hours', () => {
  const clock = new ManualClock(new Date());
  let app: TestApp;
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
    receiver.answer = ({ path }) => (path === '/broken' ? 500 : 204);
    app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' }, { clock });
  });
  after(async () => {
    await app.stop();
    await receiver.close();
  });

  test('is disabled with a WEBHOOK_DISABLED event; its later events wait, and are sent once it is enabled again', { timeout: 60_000 }, async () => {
    const broken = await json<{ id: number }>(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/broken`, eventTypes: ['QUEUED'] } }));
    await json(await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/watch`, eventTypes: ['WEBHOOK_DISABLED'] } }));
    const first = await send(app);
    await eventually(async () => receiver.received.some((r) => r.path === '/broken'), 10_000, 'a first failed attempt');
    const second = await send(app);

    await advanceUntil(app, clock, 30 * 60_000, () => receiver.received.some((r) => r.path === '/watch'), 'the WEBHOOK_DISABLED event', 100);
    const notice = receiver.received.find((r) => r.path === '/watch')!.json;
    assert.equal(notice.type, 'WEBHOOK_DISABLED');
    assert.deepEqual(notice.details, { webhookId: broken.id, url: `${receiver.base}/broken`, reason: 'its deliveries failed for 24 hours' });
    const state = await json<{ enabled: boolean; disabledReason: string }>(await app.api(`/webhooks/${broken.id}`));
    assert.deepEqual(state, { ...state, enabled: false, disabledReason: 'its deliveries failed for 24 hours' });
    const attempts = await json<{ deliveryStatus: string; statusCode: number }[]>(await app.api(`/webhooks/${broken.id}/attempts?limit=100`));
    assert.ok(attempts.length >= 10, `${attempts.length} attempts in 24 h`);
    assert.ok(attempts.every((attempt) => attempt.statusCode === 500 && attempt.deliveryStatus === 'failed'), 'the first event was given up; the second never tried');
    assert.ok(receiver.received.filter((r) => r.path === '/broken').every((r) => r.json.messageId === first));
    assert.equal((await app.api(`/webhooks/${broken.id}/test`, { method: 'POST' })).status, 409);

    // Fixed and enabled again: the second message's event, held meanwhile, goes out.
    receiver.answer = () => 204;
    await json(await app.api(`/webhooks/${broken.id}`, { method: 'PATCH', json: { enabled: true } }));
    app.mailroom.webhooks!.wakeUp();
    const held = await eventually(async () => receiver.received.find((r) => r.path === '/broken' && r.status === 204), 10_000, 'the held event');
    assert.equal(held.json.messageId, second);
  });
});

describe('targets that are not public', () => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
    app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '0' });
  });
  after(async () => {
    await app.stop();
    await receiver.close();
  });

  test('a webhook URL on a private, loopback or link-local address, or not http(s), is refused', async () => {
    for (const url of [`${receiver.base}/hook`, 'http://localhost:9/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'ftp://example.com/', 'http://10.0.0.1/']) {
      const response = await app.api('/webhooks', { method: 'POST', json: { url } });
      const body = (await response.json()) as { error: { code: string; message: string; details: { field: string; message: string }[] } };
      assert.equal(response.status, 400, url);
      assert.equal(body.error.code, 'VALIDATION_ERROR');
      assert.equal(body.error.details[0]!.field, 'url');
      // A private target says how an installation allows it; a wrong scheme is not about that.
      const private_ = !url.startsWith('ftp:');
      assert.equal(/MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/.test(body.error.details[0]!.message), private_, `${url}: ${body.error.details[0]!.message}`);
      assert.equal(/MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/.test(body.error.message), private_, url);
    }
  });

  test('changing a webhook to a private URL is refused the same way, naming the setting', async () => {
    // A public literal: no look-up, so the test does not depend on the machine's DNS.
    const created = await app.api('/webhooks', { method: 'POST', json: { url: 'https://93.184.215.14/in' } });
    assert.ok(created.ok, String(created.status));
    const hook = ((await created.json()) as { data: { id: number } }).data;
    const response = await app.api(`/webhooks/${hook.id}`, { method: 'PATCH', json: { url: 'http://10.0.0.1/' } });
    const body = (await response.json()) as { error: { code: string; details: { field: string; message: string }[] } };
    assert.equal(response.status, 400);
    assert.deepEqual(body.error.details.map((detail) => detail.field), ['url']);
    assert.match(body.error.details[0]!.message, /10\.0\.0\.1 is not a public address.*MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/);
  });

  test('a callback to a loopback address is refused with the message, and never called', async () => {
    // The check when the dispatcher connects (a name that resolves to loopback by then) is in
    // test/sending/policy/callbacks.test.ts, with a DNS server of its own.
    const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [`${receiver.base}/cb`] } });
    const body = (await response.json()) as { error: { code: string; message: string; details: { field: string; message: string }[] } };
    assert.equal(response.status, 400);
    assert.equal(body.error.code, 'VALIDATION_ERROR');
    assert.deepEqual(body.error.details.map((detail) => detail.field), ['callbacks[0]']);
    assert.match(body.error.details[0]!.message, /127\.0\.0\.1 is not a public address.*MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/);
    assert.match(body.error.message, /MAILROOM_ALLOW_PRIVATE_CALLBACKS=1/);
    assert.equal(receiver.received.length, 0);
  });
});
