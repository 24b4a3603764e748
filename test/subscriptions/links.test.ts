import assert from 'node:assert/strict';
import test from 'node:test';
import { KeyRing } from '../../src/crypto/keyring.js';
import { SubscribeLinks } from '../../src/subscriptions/links.js';
import { ConfirmationLinks } from '../../src/senders/confirmationLinks.js';

const ring = (fill: number, previous: number[] = []) => new KeyRing(Buffer.alloc(32, fill), previous.map((p) => Buffer.alloc(32, p)));

test('a link names its list, contact, nonce and expiry; any edit or another key refuses it', () => {
  const links = new SubscribeLinks(ring(1), 'https://mail.example/');
  const token = { listSeq: 7, contactId: 123456, nonce: SubscribeLinks.newNonce(), expiresAt: Date.UTC(2030, 0, 1) };
  const url = links.url(token);
  assert.match(url, /^https:\/\/mail\.example\/subscribe\/confirm\/7\.123456\.[A-Za-z0-9_-]{16}\.\d{13}\.[A-Za-z0-9_-]{43}$/);
  const text = url.slice(url.lastIndexOf('/') + 1);
  assert.deepEqual(links.read(text), token);
  assert.equal(links.read(text.replace('7.123456', '7.123457')), null, 'another contact');
  assert.equal(links.read(text.replace(/\.(\d{13})\./, (_m, e: string) => `.${Number(e) + 1000}.`)), null, 'a later expiry');
  assert.equal(links.read(`${text}x`), null);
  assert.equal(links.read(''), null);
  assert.equal(new SubscribeLinks(ring(2), 'https://mail.example').read(text), null, 'another installation key');
  assert.deepEqual(new SubscribeLinks(ring(2, [1]), 'https://mail.example').read(text), token, 'a previous key still verifies');
});

test('a sender confirmation signature is worthless as a subscription link (keys derived per purpose)', () => {
  const senders = new ConfirmationLinks(ring(1), 'https://mail.example');
  const nonce = ConfirmationLinks.newNonce();
  const senderUrl = senders.url({ senderId: 7, nonce, expiresAt: Date.UTC(2030, 0, 1) });
  const [, , , signature] = senderUrl.slice(senderUrl.lastIndexOf('/') + 1).split('.');
  const links = new SubscribeLinks(ring(1), 'https://mail.example');
  assert.equal(links.read(`7.7.${nonce}.${Date.UTC(2030, 0, 1)}.${signature}`), null);
});
