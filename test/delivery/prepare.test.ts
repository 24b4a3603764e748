import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { KeyCache, prepareMessage } from '../../src/delivery/prepare.js';
import { dkimRecord } from '../../src/domains/domains.js';
import type { Content } from '../../src/sending/render.js';

/**
 * Messages composed and signed side by side (the signatures come back from libuv's thread pool
 * in any order): every one verifies with an independent verifier (mailauth) and keeps its own
 * Message-ID, with RSA and Ed25519 keys; without keys the message goes unsigned.
 */
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const ed = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === 'sel._domainkey.example.com') return [[dkimRecord(rsa.publicKey)]];
  if (type === 'TXT' && name === 'ed._domainkey.example.com') return [[dkimRecord(ed.publicKey, 'ed25519')]];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
};
const KEYS = [
  { domain: 'example.com', selector: 'sel', algorithm: 'rsa-sha256' as const, pem: rsa.privateKey },
  { domain: 'example.com', selector: 'ed', algorithm: 'ed25519-sha256' as const, pem: ed.privateKey },
];

function content(index: number): Content {
  return {
    from: 'Shop <shop@example.com>', to: `user${index}@example.org`, cc: [], bcc: [], subject: `Order ${index} – Grüße`,
    text: `Line one\nLine two ${index}\n`, plain: null, html: index % 2 ? `<p>Order ${index}</p>` : null, headers: {}, attachments: [],
    replyTo: null, type: 'transactional', trackOpens: null, trackClicks: null, unsubscribeMsg: null,
  };
}

test('60 messages prepared at once: each is signed twice, verifies, and keeps its own Message-ID', async () => {
  const cache = new KeyCache();
  const results = await Promise.all(Array.from({ length: 60 }, (_, index) =>
    prepareMessage({ content: content(index), body: null, messageIdHeader: `<m${index}@example.com>`, createdAt: Date.now(), keys: KEYS }, cache)));
  for (const [index, { raw, signMs }] of results.entries()) {
    assert.match(raw.toString('latin1'), new RegExp(`^Message-ID: <m${index}@example.com>\\r$`, 'm'));
    assert.match(raw.toString('latin1'), new RegExp(`^To: user${index}@example.org\\r$`, 'm'));
    assert.ok(signMs > 0);
    const verdict = await dkimVerify(raw, { resolver });
    assert.deepEqual(verdict.results.map((entry) => `${entry.signingDomain}/${entry.selector}:${entry.status.result}`), ['example.com/sel:pass', 'example.com/ed:pass'], `message ${index}`);
  }
});

test('no key: the message goes out unsigned', async () => {
  const unsigned = await prepareMessage({ content: content(99), body: null, messageIdHeader: '<u@example.com>', createdAt: Date.now(), keys: [] }, new KeyCache());
  assert.doesNotMatch(unsigned.raw.toString('latin1'), /^DKIM-Signature/m);
  assert.equal(unsigned.signMs, 0);
});
