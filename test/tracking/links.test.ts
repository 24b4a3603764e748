import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyRing } from '../../src/crypto/keyring.js';
import { TrackingLinks } from '../../src/tracking/links.js';

const links = new TrackingLinks(new KeyRing(Buffer.alloc(32, 7)), 'https://t.example.com/');
const ID = '01JABCDEFGHJKMNPQRSTVWXYZ0';

function parts(url: string): string[] {
  return new URL(url).pathname.split('/').slice(1);
}

test('URLs live under the public base and verify for what they were made for', () => {
  const open = links.openUrl(ID);
  assert.match(open, /^https:\/\/t\.example\.com\/t\/o\//);
  const [, , id, file] = parts(open);
  assert.equal(id, ID);
  assert.ok(links.verifyOpen(ID, file!.replace(/\.gif$/, '')));

  const click = links.clickUrl(ID, 3, 'https://shop.example/p?a=1&b=ü#x');
  const [, , cid, index, encoded, signature] = parts(click);
  assert.deepEqual(links.verifyClick(cid!, index!, encoded!, signature!), { messageId: ID, index: 3, url: 'https://shop.example/p?a=1&b=ü#x' });

  const unsubscribe = links.unsubscribeUrl(ID);
  const [, uid, usig] = parts(unsubscribe);
  assert.ok(links.verifyUnsubscribe(uid!, usig!));
});

test('an edited message id, position, target or signature fails; so does another kind or another key', () => {
  const [, , id, index, encoded, signature] = parts(links.clickUrl(ID, 0, 'https://shop.example/'));
  const evil = Buffer.from('https://evil.example/', 'utf8').toString('base64url');
  assert.equal(links.verifyClick(id!, index!, evil, signature!), null, 'another target: no open redirect');
  assert.equal(links.verifyClick(`${ID.slice(0, -1)}1`, index!, encoded!, signature!), null, 'another message');
  assert.equal(links.verifyClick(id!, '1', encoded!, signature!), null, 'another link position');
  // The last character's low bits are not part of the 16 bytes: an edit there must fail too.
  const flipped = signature!.slice(0, -1) + String.fromCharCode(signature!.charCodeAt(21) ^ 1);
  assert.equal(links.verifyClick(id!, index!, encoded!, flipped), null, 'an edited signature');
  assert.equal(links.verifyClick(id!, index!, `${encoded!}=`, signature!), null, 'a non-canonical encoding of the target');
  assert.equal(links.verifyClick(id!, '00', encoded!, signature!), null, 'a non-canonical position');

  const [, , oid, file] = parts(links.openUrl(ID));
  const openSignature = file!.replace(/\.gif$/, '');
  assert.equal(links.verifyUnsubscribe(oid!, openSignature), false, 'an open signature is no unsubscribe signature');
  assert.equal(new TrackingLinks(new KeyRing(Buffer.alloc(32, 8)), 'https://t.example.com').verifyOpen(oid!, openSignature), false, 'another installation');
  assert.equal(links.verifyOpen(oid!, ''), false);
  assert.equal(links.verifyOpen(oid!, `${openSignature}x`), false);
});

test('after a key change, URLs signed with the previous key verify while it stays in the ring; new URLs use the current key', () => {
  const [keyA, keyB] = [Buffer.alloc(32, 7), Buffer.alloc(32, 9)];
  const before = new TrackingLinks(new KeyRing(keyA), 'https://t.example.com');
  const rotated = new TrackingLinks(new KeyRing(keyB, [keyA]), 'https://t.example.com');
  const afterRemoval = new TrackingLinks(new KeyRing(keyB), 'https://t.example.com');
  const [, , id, index, encoded, signature] = parts(before.clickUrl(ID, 2, 'https://shop.example/'));
  const [, uid, usig] = parts(before.unsubscribeUrl(ID));
  assert.deepEqual(rotated.verifyClick(id!, index!, encoded!, signature!), { messageId: ID, index: 2, url: 'https://shop.example/' });
  assert.ok(rotated.verifyUnsubscribe(uid!, usig!));
  assert.equal(afterRemoval.verifyClick(id!, index!, encoded!, signature!), null);
  assert.equal(afterRemoval.verifyUnsubscribe(uid!, usig!), false);
  assert.equal(rotated.openUrl(ID), afterRemoval.openUrl(ID), 'signed with the current key');
});

test("parse: this installation's click (verified, with its target), open and unsubscribe URLs; anything else is not Mailroom's", () => {
  const click = links.clickUrl('01abc', 2, 'https://shop.example/a?b=1');
  assert.deepEqual(links.parse(click), { kind: 'click', url: 'https://shop.example/a?b=1' });
  assert.deepEqual(links.parse(links.openUrl('01abc')), { kind: 'open' });
  assert.deepEqual(links.parse(links.unsubscribeUrl('01abc')), { kind: 'unsubscribe' });
  assert.equal(links.parse(click.replace('/2/', '/3/')), null, 'a click URL whose signature does not match');
  assert.equal(links.parse('https://t.example.com.evil.example/t/o/01abc/x.gif'), null, 'another host that starts alike');
  assert.equal(links.parse('https://shop.example/t/c/01abc/0/aA/bB'), null);
});
