import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { canonicalBody, canonicalHeader, dkimSignatures, type SignatureSpec } from '../../src/delivery/dkimSign.js';
import { dkimRecord } from '../../src/domains/domains.js';

/**
 * The signer against the canonicalization rules of RFC 6376 (section 3.4.5's example among them)
 * and against an independent verifier (mailauth's), for messages that trip up signers: folded and
 * repeated headers, whitespace runs, trailing blank lines, an empty body, no final CRLF.
 */
const rsa = generateKeyPairSync('rsa', {
  modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const ed = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const SPECS: SignatureSpec[] = [
  { domain: 'example.com', selector: 'r', algorithm: 'rsa-sha256', key: createPrivateKey(rsa.privateKey) },
  { domain: 'example.com', selector: 'e', algorithm: 'ed25519-sha256', key: createPrivateKey(ed.privateKey) },
];
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === 'r._domainkey.example.com') return [[dkimRecord(rsa.publicKey)]];
  if (type === 'TXT' && name === 'e._domainkey.example.com') return [[dkimRecord(ed.publicKey, 'ed25519')]];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
};

async function verify(message: string): Promise<string[]> {
  const raw = Buffer.from(message, 'latin1');
  const signed = Buffer.concat([Buffer.from(await dkimSignatures(raw, ['From', 'To', 'Subject', 'X-Twice', 'Content-Type'], SPECS), 'latin1'), raw]);
  const result = await dkimVerify(signed, { resolver });
  return result.results.map((entry) => `${entry.selector === 'r' ? 'rsa-sha256' : 'ed25519-sha256'}:${entry.status.result}`);
}

test('RFC 6376 section 3.4.5: relaxed canonicalization of the example header and body', () => {
  assert.equal(canonicalHeader('A: X'), 'a:X');
  assert.equal(canonicalHeader('B : Y\t\r\n\tZ  '), 'b:Y Z');
  assert.equal(canonicalBody(' C \r\nD \t E\r\n\r\n\r\n'), ' C\r\nD E\r\n');
  assert.equal(canonicalBody(''), '');
  assert.equal(canonicalBody('\r\n\r\n'), '');
  assert.equal(canonicalBody('no final line break'), 'no final line break\r\n');
});

test('RSA and Ed25519 signatures verify with an independent verifier, for awkward messages', async () => {
  const messages = {
    plain: 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n',
    folded: 'From: "A  Name"\r\n <a@example.com>\r\nTo: b@example.org,\r\n\tc@example.org\r\nSubject:   spaced    out  \r\n\r\nline  with   runs \t\r\n\r\n\r\n',
    repeated: 'From: a@example.com\r\nX-Twice: first\r\nTo: b@example.org\r\nX-Twice: second\r\nSubject: x\r\n\r\nbody\r\n',
    emptyBody: 'From: a@example.com\r\nTo: b@example.org\r\nSubject: empty\r\n\r\n',
    noFinalCrlf: 'From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\n\r\nlast line without a break',
    eightBit: 'From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\nContent-Type: text/plain; charset=latin1\r\n\r\nGr\xfc\xdfe\r\n',
  };
  for (const [name, message] of Object.entries(messages)) {
    assert.deepEqual(await verify(message), ['rsa-sha256:pass', 'ed25519-sha256:pass'], name);
  }
});

test('a changed signed header or body fails; an added unsigned header does not', async () => {
  const message = 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n';
  const raw = Buffer.from(message, 'latin1');
  const signed = (await dkimSignatures(raw, ['From', 'To', 'Subject'], SPECS)) + message;
  const check = async (text: string) => (await dkimVerify(Buffer.from(text, 'latin1'), { resolver })).results.map((entry) => entry.status.result);
  assert.deepEqual(await check(signed), ['pass', 'pass']);
  assert.deepEqual(await check(signed.replace('Subject: hi', 'Subject: ho')), ['fail', 'fail']);
  // mailauth calls a body-hash mismatch "neutral": anything but a pass.
  assert.ok((await check(signed.replace('body', 'bodY'))).every((result) => result !== 'pass'));
  assert.deepEqual(await check(`Received: by relay\r\n${signed}`), ['pass', 'pass']);
});

test('h= lists each present header once per occurrence and leaves absent ones out', async () => {
  const raw = Buffer.from('From: a@example.com\r\nX-Twice: 1\r\nX-Twice: 2\r\n\r\nb\r\n', 'latin1');
  const header = (await dkimSignatures(raw, ['From', 'Reply-To', 'X-Twice'], [SPECS[0]!])).replace(/\r\n\t/g, ' ');
  assert.match(header, /h=from:x-twice:x-twice;/);
  assert.match(header, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example.com; s=r; t=\d+;/);
});
