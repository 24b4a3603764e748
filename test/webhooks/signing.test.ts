import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newSigningSecret, signatureHeaders, verifySignature } from '../../src/webhooks/signing.js';

/** Mailroom's signatures, checked by an independent implementation: the `standardwebhooks` package. */
test('a signature verifies with the standardwebhooks package, and fails for another secret or an edited body', () => {
  const secret = newSigningSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const body = JSON.stringify({ id: 7, type: 'DELIVERED', messageId: '01m8t54r258a0b7w1nmcth', details: { reply: '250 2.0.0 Ok ✓' } });
  const now = Math.floor(Date.now() / 1000);
  const headers = signatureHeaders('evt_7', now, body, [secret]);
  assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
  assert.throws(() => new Webhook(newSigningSecret()).verify(body, { ...headers }), /No matching signature/);
  assert.throws(() => new Webhook(secret).verify(body.replace('DELIVERED', 'BOUNCED'), { ...headers }), /No matching signature/);
  assert.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_8' }), /No matching signature/);
  assert.equal(verifySignature(headers, body, secret), true);
  assert.equal(verifySignature(headers, `${body} `, secret), false);
});

test('during a rotation both secrets sign: receivers on either verify', () => {
  const [oldSecret, newSecret] = [newSigningSecret(), newSigningSecret()];
  const body = '{"id":1}';
  const headers = signatureHeaders('evt_1', Math.floor(Date.now() / 1000), body, [newSecret, oldSecret]);
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  assert.ok(new Webhook(oldSecret).verify(body, { ...headers }));
  assert.ok(new Webhook(newSecret).verify(body, { ...headers }));
});
