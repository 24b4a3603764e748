import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { MessagePreparer } from '../../src/delivery/preparePool.js';
import { dkimRecord } from '../../src/domains/domains.js';
import type { Content } from '../../src/sending/render.js';

/**
 * Composition and signing on worker threads give the same messages as on the event loop: every
 * one verifies, and each keeps its own Message-ID (replies are matched to their jobs).
 */
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === 'sel._domainkey.example.com') return [[dkimRecord(rsa.publicKey)]];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
};

function content(index: number): Content {
  return {
    from: 'Shop <shop@example.com>', to: `user${index}@example.org`, cc: [], bcc: [], subject: `Order ${index} – Grüße`,
    text: `Line one\nLine two ${index}\n`, plain: null, html: null, headers: {}, attachments: [], replyTo: null, type: 'transactional',
    trackOpens: null, trackClicks: null, unsubscribeMsg: null,
  };
}

for (const [threads, share] of [[0, false], [2, false], [1, true]] as const) {
  test(`${threads} thread(s)${share ? ', event loop sharing' : ''}: 40 messages composed and signed, each verifies and keeps its Message-ID`, async () => {
    const preparer = new MessagePreparer(threads, share);
    try {
      const keys = [{ domain: 'example.com', selector: 'sel', algorithm: 'rsa-sha256' as const, pem: rsa.privateKey }];
      const results = await Promise.all(Array.from({ length: 40 }, (_, index) =>
        preparer.prepare({ content: content(index), messageIdHeader: `<m${index}@example.com>`, createdAt: Date.now(), keys })));
      for (const [index, { raw, signMs }] of results.entries()) {
        assert.match(raw.toString('latin1'), new RegExp(`^Message-ID: <m${index}@example.com>\\r$`, 'm'));
        assert.ok(signMs > 0);
        const verdict = await dkimVerify(raw, { resolver });
        assert.equal(verdict.results[0]!.status.result, 'pass', `message ${index}`);
      }
      const unsigned = await preparer.prepare({ content: content(99), messageIdHeader: '<u@example.com>', createdAt: Date.now(), keys: [] });
      assert.doesNotMatch(unsigned.raw.toString('latin1'), /^DKIM-Signature/m);
    } finally {
      await preparer.close();
    }
  });
}
