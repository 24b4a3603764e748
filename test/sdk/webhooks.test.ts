import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Mailroom, verifyWebhook, WebhookVerificationError } from '../../packages/sdk/src/index.js';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { startWebhookReceiver, type Received, type WebhookReceiver } from '../helpers/webhookReceiver.js';

/** The SDK's webhook verifier against real deliveries from Mailroom, and against the standardwebhooks package. */

let app: TestApp;
let receiver: WebhookReceiver;
let mailroom: Mailroom;
let secret: string;
let delivery: Received;

before(async () => {
  receiver = await startWebhookReceiver();
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_TRANSPORT: 'sandbox' });
  mailroom = new Mailroom({ apiKey: app.key, baseUrl: app.url });
  const created = (await mailroom.webhooks.create({ url: `${receiver.base}/hook`, eventTypes: ['QUEUED'] })) as { data: { secret: string } };
  secret = created.data.secret;
  const sent = await mailroom.emails.send({ ...SEED_REQUEST, callbacks: [], externalId: 'sdk-webhook' });
  delivery = await eventually(async () => receiver.received.find((request) => request.json.messageId === sent.data.id), 15_000, 'the QUEUED webhook');
});
after(async () => {
  await app.stop();
  await receiver.close();
});

test('a real delivery from Mailroom verifies, and its payload is returned', () => {
  assert.match(secret, /^whsec_/, 'Mailroom answers the secret once, at creation');
  const payload = verifyWebhook<{ type: string; messageId: string }>(secret, delivery.headers, delivery.body);
  assert.equal(payload.type, 'QUEUED');
  assert.equal(payload.messageId, delivery.json.messageId);
  // As a fetch Headers and a Buffer body too (what a framework may hand over).
  assert.ok(verifyWebhook(secret, new Headers(delivery.headers), Buffer.from(delivery.body)), 'Headers and Buffer accepted');
  // The standardwebhooks package agrees on the same request.
  assert.ok(new Webhook(secret).verify(delivery.body, delivery.headers), 'standardwebhooks verifies it too');
});

test('a tampered body, another secret, an old timestamp or a missing header are refused', () => {
  const refused = (headers: Record<string, string>, body: string, key = secret, options = {}) =>
    assert.throws(() => verifyWebhook(key, headers, body, options), WebhookVerificationError);
  refused(delivery.headers, delivery.body.replace('QUEUED', 'DELIVERED'));
  refused(delivery.headers, `${delivery.body} `);
  refused(delivery.headers, delivery.body, `whsec_${Buffer.alloc(32, 7).toString('base64')}`);
  const timestamp = Number(delivery.headers['webhook-timestamp']);
  refused(delivery.headers, delivery.body, secret, { now: new Date((timestamp + 301) * 1000) });
  refused(delivery.headers, delivery.body, secret, { now: new Date((timestamp - 301) * 1000) });
  assert.ok(verifyWebhook(secret, delivery.headers, delivery.body, { now: new Date((timestamp + 3000) * 1000), toleranceSeconds: 3600 }), 'a wider tolerance takes it');
  const { 'webhook-signature': _signature, ...unsigned } = delivery.headers;
  refused(unsigned, delivery.body);
});

test('what standardwebhooks signs verifies, and a rotation header with the old and the new secret verifies with either', () => {
  const now = new Date();
  const body = JSON.stringify({ id: 1, type: 'DELIVERED', messageId: 'm1' });
  const signature = new Webhook(secret).sign('msg_1', now, body);
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature };
  assert.deepEqual(verifyWebhook(secret, headers, body), JSON.parse(body));

  const newSecret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
  const rotated = { ...headers, 'webhook-signature': `${signature} ${new Webhook(newSecret).sign('msg_1', now, body)}` };
  assert.ok(verifyWebhook(secret, rotated, body), 'the old secret');
  assert.ok(verifyWebhook(newSecret, rotated, body), 'the new secret');
  // And the other way: the package accepts what the SDK accepted (it refuses a stale timestamp the same way).
  assert.ok(new Webhook(newSecret).verify(body, rotated), 'standardwebhooks agrees');
  const then = new Date(now.getTime() - 600_000);
  const stale = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(then.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_1', then, body) };
  assert.ok(verifyWebhook(secret, stale, body, { now: then }), 'signed right, only old');
  assert.throws(() => new Webhook(secret).verify(body, stale), 'standardwebhooks refuses a stale timestamp');
  assert.throws(() => verifyWebhook(secret, stale, body), WebhookVerificationError, 'and so does the SDK');
});
