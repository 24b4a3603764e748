import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyRing } from '../../src/crypto/keyring.js';
import { ConfirmationLinks } from '../../src/senders/confirmationLinks.js';

const [A, B] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
const TOKEN = { senderId: 42, nonce: 'AAAAAAAAAAAAAAAA', expiresAt: 1_900_000_000_000 };

test('a confirmation link mailed before a key change still works while the old key is in the ring, and not after', () => {
  const token = (links: ConfirmationLinks) => links.url(TOKEN).split('/').at(-1)!;
  const mailed = token(new ConfirmationLinks(new KeyRing(A), 'https://mail.example'));
  assert.deepEqual(new ConfirmationLinks(new KeyRing(B, [A]), 'https://mail.example').read(mailed), TOKEN);
  assert.equal(new ConfirmationLinks(new KeyRing(B), 'https://mail.example').read(mailed), null);
  assert.equal(token(new ConfirmationLinks(new KeyRing(B, [A]), 'https://mail.example')), token(new ConfirmationLinks(new KeyRing(B), 'https://mail.example')));
});
