import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecryptionError } from '../../src/crypto/aead.js';
import { decryptWithDataKey, encryptWithDataKey, generateDataKey, unwrapDataKey, wrapDataKey } from '../../src/crypto/dataKeys.js';
import { KeyRing, keyIdOf } from '../../src/crypto/keyring.js';
import { SealedValueError, Sealer } from '../../src/crypto/sealed.js';

const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
const CONTEXT = { purpose: 'message-data-key', owner: 'message:01JTEST' };

test('a data key encrypts bytes bound to their place; wrapped, it opens with the ring, also after a key change', () => {
  const dataKey = generateDataKey();
  assert.equal(dataKey.length, 32);
  assert.notDeepEqual(generateDataKey(), dataKey);
  const content = Buffer.from('Subject: lab results\r\n\r\nPatient data', 'utf8');
  const aad = Buffer.from('message:01JTEST');
  const encrypted = encryptWithDataKey(dataKey, content, aad);
  assert.ok(!encrypted.includes(content.subarray(0, 16)));
  assert.deepEqual(decryptWithDataKey(dataKey, encrypted, aad), content);
  assert.throws(() => decryptWithDataKey(dataKey, encrypted, Buffer.from('message:other')), DecryptionError);
  assert.throws(() => decryptWithDataKey(generateDataKey(), encrypted, aad), DecryptionError);
  const flipped = Buffer.from(encrypted);
  flipped[20]! ^= 1;
  assert.throws(() => decryptWithDataKey(dataKey, flipped, aad), DecryptionError);

  const wrapped = wrapDataKey(new Sealer(new KeyRing(A)), dataKey, CONTEXT);
  assert.ok(wrapped.startsWith(`enc:v1:${keyIdOf(A)}:`));
  assert.deepEqual(unwrapDataKey(new Sealer(new KeyRing(B, [A])), wrapped, CONTEXT), dataKey);
  assert.throws(() => unwrapDataKey(new Sealer(new KeyRing(A)), wrapped, { ...CONTEXT, owner: 'message:other' }), SealedValueError);
  assert.throws(() => unwrapDataKey(new Sealer(new KeyRing(B)), wrapped, CONTEXT), new RegExp(`key ${keyIdOf(A)}, which is not in the key ring`));
  assert.throws(() => wrapDataKey(new Sealer(new KeyRing(A)), Buffer.alloc(16), CONTEXT), /32 bytes, not 16/);
});
