import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Verp } from '../../src/bounces/verp.js';
import { KeyRing } from '../../src/crypto/keyring.js';

const [A, B] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
const TARGET = { messageId: '01jabcdefghjkmnpqrstvw', recipientIndex: 0, bounceDomain: 'bounces.example.com' };

test('a bounce address made before a key change still names its message while the old key is in the ring, and not after', () => {
  const address = new Verp(new KeyRing(A)).address(TARGET);
  assert.deepEqual(new Verp(new KeyRing(B, [A])).decode(address), TARGET);
  assert.equal(new Verp(new KeyRing(B)).decode(address), null);
  assert.equal(new Verp(new KeyRing(B, [A])).address(TARGET), new Verp(new KeyRing(B)).address(TARGET), 'new addresses use the current key');
  assert.notEqual(new Verp(new KeyRing(B)).address(TARGET), address);
});
