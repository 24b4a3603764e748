import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { KeyRing, keyIdOf } from '../../src/crypto/keyring.js';

const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);

test('a key id is short, stable, different for each key, and not the key', () => {
  assert.match(keyIdOf(A), /^[0-9a-f]{12}$/);
  assert.equal(keyIdOf(A), keyIdOf(Buffer.from(A)));
  assert.notEqual(keyIdOf(A), keyIdOf(B));
  assert.ok(!A.toString('hex').includes(keyIdOf(A)), 'the id is a digest, not a slice of the key');
  const ids = new Set(Array.from({ length: 200 }, () => keyIdOf(randomBytes(32))));
  assert.equal(ids.size, 200);
});

test('the ring: the current key first, previous keys without repeats, found by id', () => {
  const ring = new KeyRing(B, [A, B, A]);
  assert.equal(ring.current.id, keyIdOf(B));
  assert.deepEqual(ring.previous.map((key) => key.id), [keyIdOf(A)]);
  assert.deepEqual(ring.ids, [keyIdOf(B), keyIdOf(A)]);
  assert.equal(ring.get(keyIdOf(A))?.key, A);
  assert.equal(ring.get('000000000000'), undefined);
});

test('a master key of another length is refused', () => {
  assert.throws(() => new KeyRing(Buffer.alloc(16)), /32 bytes, not 16/);
  assert.throws(() => new KeyRing(A, [Buffer.alloc(31)]), /32 bytes, not 31/);
});

test('derive: one key per ring key and purpose, the current one first; purposes and master keys give different keys', () => {
  const ring = new KeyRing(B, [A]);
  const [current, previous] = ring.derive('mailroom verp v1');
  assert.deepEqual(new KeyRing(B).derive('mailroom verp v1'), [current]);
  assert.deepEqual(new KeyRing(A).derive('mailroom verp v1'), [previous]);
  assert.notDeepEqual(ring.derive('mailroom tracking links v1')[0], current);
  assert.notDeepEqual(current, B, 'the master key itself never signs');
});
