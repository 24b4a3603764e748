import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyRing, keyIdOf } from '../../src/crypto/keyring.js';
import { OpenCache } from '../../src/crypto/openCache.js';
import { isSealed, SealedValueError, sealedKeyId, Sealer, type SealContext } from '../../src/crypto/sealed.js';

const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
const SECRET = 'whsec_c2VjcmV0IHZhbHVlIG9mIGEgd2ViaG9vayAxMjM0NTY=';
const CONTEXT: SealContext = { purpose: 'webhook-secret', owner: 'account:7' };

/** The SealedValueError `fn` throws. */
function failure(fn: () => unknown): SealedValueError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SealedValueError, `a SealedValueError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a SealedValueError');
}

test('a value round-trips; it is stored as enc:v1:<key id>:<iv>:<ciphertext>, a fresh IV each time, never the plaintext', () => {
  const sealer = new Sealer(new KeyRing(A));
  const sealed = sealer.seal(SECRET, CONTEXT);
  assert.match(sealed, new RegExp(`^enc:v1:${keyIdOf(A)}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$`));
  assert.ok(!sealed.includes(SECRET) && !sealed.includes(SECRET.slice(6)));
  assert.equal(sealer.open(sealed, CONTEXT), SECRET);
  assert.notEqual(sealer.seal(SECRET, CONTEXT), sealed);
  assert.ok(sealed.startsWith(sealer.currentPrefix));
  assert.equal(isSealed(sealed), true);
  assert.equal(sealedKeyId(sealed), keyIdOf(A));
  const bytes = Buffer.from([0, 1, 2, 255]);
  assert.deepEqual(sealer.openBytes(sealer.seal(bytes, CONTEXT), CONTEXT), bytes);
  assert.equal(sealer.open(sealer.seal('', CONTEXT), CONTEXT), '');
});

test('a tampered value does not open; the error names the key id and never the value', () => {
  const sealer = new Sealer(new KeyRing(A));
  const sealed = sealer.seal(SECRET, CONTEXT);
  const parts = sealed.split(':');
  const other = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
  const tamperedIv = [...parts.slice(0, 3), other(parts[3]!), parts[4]].join(':');
  const tamperedCiphertext = [...parts.slice(0, 4), other(parts[4]!)].join(':');
  for (const tampered of [tamperedIv, tamperedCiphertext]) {
    const error = failure(() => sealer.open(tampered, CONTEXT));
    assert.equal(error.keyId, keyIdOf(A));
    assert.match(error.message, new RegExp(`webhook-secret value sealed with key ${keyIdOf(A)} does not open`));
    assert.ok(!error.message.includes(SECRET));
  }
});

test('a value opens only in its own context: another purpose or another owner fails', () => {
  const sealer = new Sealer(new KeyRing(A));
  const sealed = sealer.seal(SECRET, CONTEXT);
  assert.match(failure(() => sealer.open(sealed, { purpose: 'callback-secret', owner: 'account:7' })).message, /does not open: it was altered, or copied from another column or owner/);
  assert.match(failure(() => sealer.open(sealed, { purpose: 'webhook-secret', owner: 'account:8' })).message, /does not open/);
});

test('an unknown key id fails clearly, naming it; a ring that lists it as previous opens the value and seals with its current key', () => {
  const sealedWithA = new Sealer(new KeyRing(A)).seal(SECRET, CONTEXT);
  const error = failure(() => new Sealer(new KeyRing(B)).open(sealedWithA, CONTEXT));
  assert.equal(error.keyId, keyIdOf(A));
  assert.equal(
    error.message,
    `a webhook-secret value is sealed with key ${keyIdOf(A)}, which is not in the key ring (current ${keyIdOf(B)}, no previous keys): give that key in MAILROOM_ENCRYPTION_KEYS_PREVIOUS`,
  );
  const rotated = new Sealer(new KeyRing(B, [A]));
  assert.equal(rotated.open(sealedWithA, CONTEXT), SECRET);
  assert.equal(sealedKeyId(rotated.seal(SECRET, CONTEXT)), keyIdOf(B));
});

test('a value in clear or not in the envelope format is refused, not trusted', () => {
  const sealer = new Sealer(new KeyRing(A));
  const clear = failure(() => sealer.open(SECRET, CONTEXT));
  assert.match(clear.message, /stored in clear, and only sealed values are read/);
  assert.ok(!clear.message.includes(SECRET));
  assert.match(failure(() => sealer.open('enc:v2:abc', CONTEXT)).message, /not a well-formed sealed value/);
  assert.match(failure(() => sealer.open(`enc:v1:${keyIdOf(A)}:short:AAAAAAAAAAAAAAAAAAAAAA`, CONTEXT)).message, /not a well-formed/);
});

test('the open cache opens once per value and context, and never hands a value to another context', () => {
  const sealer = new Sealer(new KeyRing(A));
  const cache = new OpenCache(sealer, 2);
  const sealed = sealer.seal(SECRET, CONTEXT);
  assert.equal(cache.open(sealed, CONTEXT), SECRET);
  assert.equal(cache.open(sealed, CONTEXT), SECRET);
  assert.throws(() => cache.open(sealed, { ...CONTEXT, owner: 'account:8' }), SealedValueError);
  for (let index = 0; index < 5; index++) assert.equal(cache.open(sealer.seal(`v${index}`, CONTEXT), CONTEXT), `v${index}`);
});
