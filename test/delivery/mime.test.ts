import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { composeMime, composerOptions, finish } from '../../src/delivery/mime.js';
import type { ComposedContent as Content } from '../../src/sending/render.js';

/**
 * composeMime writes Nodemailer's MIME tree synchronously instead of through the composer's
 * stream pipeline. These tests hold it to the composer: byte for byte the same message as
 * build() for hand-picked and for generated contents, and what a real parser (mailparser) reads
 * back is what was stored.
 */
const DATE = new Date('2026-03-04T05:06:07Z');

function content(overrides: Partial<Content> = {}): Content {
  return {
    to: 'customer@example.org', from: 'Shop <orders@shop.example>', subject: 'Your order', text: 'Hello\nworld\n', plain: null, html: null,
    cc: [], bcc: [], replyTo: null, headers: {}, attachments: [], type: 'transactional', trackOpens: null, trackClicks: null, unsubscribeMsg: null,
    ...overrides,
  };
}

async function reference(stored: Content, messageId: string): Promise<Buffer> {
  const built = await new MailComposer(composerOptions(stored, messageId, DATE)).compile().build();
  return finish(built.toString('utf8'));
}

const b64 = (bytes: Buffer) => bytes.toString('base64');

const CASES: Record<string, Partial<Content>> = {
  'plain ASCII': {},
  'UTF-8 text with trailing spaces': { text: 'héllo wörld '.repeat(50) + '\n\n  trailing  \n' },
  'one 2,000-character line': { text: 'a'.repeat(2000) },
  'HTML with its derived text part': { html: '<p>héllo</p>'.repeat(100), plain: 'héllo\n'.repeat(100) },
  'encoded names, Cc, Reply-To, long subject, custom headers': {
    from: 'Šhop Ünïcode <orders@shop.example>', cc: ['x@example.net', '"Q, R" <q@example.net>'], replyTo: 'r@shop.example',
    subject: 'Grüße aus Köln — a long subject line that goes on and on and on beyond seventy-eight characters',
    headers: { 'X-Custom': 'vä', 'X-Long': 'word '.repeat(40).trim() },
  },
  attachments: {
    attachments: [
      { filename: 'invoice.pdf', content: b64(Buffer.alloc(5000, 7)), contentType: 'application/pdf' },
      { filename: 'Ünïcode naïve file name that is rather long.txt', content: b64(Buffer.from('hello')), contentType: null },
    ],
  },
  'HTML and an image attachment': { html: '<p>x</p>', attachments: [{ filename: 'logo.png', content: b64(Buffer.alloc(300, 1)), contentType: 'image/png' }] },
  'mixed line ends and leading dots': { text: 'line\r\nmixed\nends\r\n.\r\n.leading dot\n' },
  'IDN recipient domain': { to: 'user@bücher.example' },
  'HTML only': { text: '', html: '<b>only</b>' },
};

test('byte for byte what Nodemailer\'s composer builds, for each kind of message', async () => {
  for (const [name, overrides] of Object.entries(CASES)) {
    const stored = content(overrides);
    const mine = composeMime(stored, '<m1@shop.example>', DATE);
    assert.equal(mine.toString('utf8'), (await reference(stored, '<m1@shop.example>')).toString('utf8'), name);
  }
});

/** A small deterministic generator, so a failure can be replayed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const pieces = ['word', ' ', '  ', '\n', '\r\n', '\t', 'é', 'Ж', '€', '😀', '.', '=', '=3D', '<b>', 'x'.repeat(90), '\n.', ' \n', '-- ', '--_NmP'];
  const text = (length: number) => Array.from({ length }, () => pick(pieces)).join('');
  return { next, pick, text };
}

/**
 * Nodemailer's streaming QP encoder and its one-shot wrap() may break a long line at different
 * points (both within 76 characters); soft line breaks carry no content (RFC 2045 section 6.7).
 */
const withoutSoftBreaks = (message: Buffer) => message.toString('utf8').replace(/=\r\n/g, '');

test('the same message as Nodemailer builds (but for where QP soft line breaks fall), for 300 generated messages', async () => {
  const random = generator(20261201);
  for (let index = 0; index < 300; index++) {
    const html = random.next() < 0.4 ? `<p>${random.text(30 + Math.floor(random.next() * 300))}</p>` : null;
    const stored = content({
      subject: random.text(1 + Math.floor(random.next() * 20)).replace(/[\r\n]/g, ' '),
      text: random.text(Math.floor(random.next() * 400)),
      html,
      plain: html ? random.text(50) : null,
      cc: random.next() < 0.3 ? ['cc@example.net'] : [],
      headers: random.next() < 0.3 ? { 'X-Campaign': random.text(8).replace(/[\r\n]/g, '') } : {},
      attachments: random.next() < 0.3
        ? [{ filename: `file${index}.txt`, content: b64(Buffer.from(random.text(1 + Math.floor(random.next() * 200)))), contentType: random.pick(['text/plain', null]) }]
        : [],
    });
    const messageId = `<gen${index}@shop.example>`;
    const mine = composeMime(stored, messageId, DATE);
    assert.equal(withoutSoftBreaks(mine), withoutSoftBreaks(await reference(stored, messageId)), `generated message ${index}`);
    for (const line of mine.toString('latin1').split('\r\n')) assert.ok(line.length <= 998, `generated message ${index}: a line of ${line.length}`);
  }
});

test('every line ends in CRLF, none is longer than 998 octets, and a retry composes the same bytes', () => {
  for (const [name, overrides] of Object.entries(CASES)) {
    const first = composeMime(content(overrides), '<m2@shop.example>', DATE);
    const text = first.toString('latin1');
    assert.doesNotMatch(text, /(?<!\r)\n/, `${name}: a bare LF`);
    assert.doesNotMatch(text, /\r(?!\n)/, `${name}: a bare CR`);
    for (const line of text.split('\r\n')) assert.ok(line.length <= 998, `${name}: a line of ${line.length} octets`);
    assert.ok(first.equals(composeMime(content(overrides), '<m2@shop.example>', DATE)), `${name}: not the same bytes twice`);
  }
});

test('a parser reads back the stored message: headers, text, HTML and attachment bytes', async () => {
  const pdf = Buffer.from('%PDF-1.4\n' + 'binary \x00\x01\x02 stream\n'.repeat(200), 'latin1');
  const stored = content({
    from: 'Šhop <orders@shop.example>', to: 'Ann <ann@example.org>', cc: ['bob@example.org'], bcc: ['hidden@example.org'], replyTo: 'help@shop.example',
    subject: 'Grüße — your invoice', text: '<p>Hello <b>Ann</b></p>', plain: 'Hello Ann', html: '<p>Hello <b>Ann</b></p>',
    headers: { 'X-Order': '42' },
    attachments: [{ filename: 'invoice.pdf', content: b64(pdf), contentType: 'application/pdf' }],
  });
  const raw = composeMime(stored, '<m3@shop.example>', DATE);
  const parsed = await simpleParser(raw);
  assert.deepEqual(parsed.from?.value.map(({ name, address }) => ({ name, address })), [{ name: 'Šhop', address: 'orders@shop.example' }]);
  assert.deepEqual((Array.isArray(parsed.to) ? parsed.to : [parsed.to]).flatMap((list) => list?.value.map((entry) => entry.address) ?? []), ['ann@example.org']);
  assert.equal(parsed.subject, 'Grüße — your invoice');
  assert.equal(parsed.messageId, '<m3@shop.example>');
  assert.equal(parsed.date?.toISOString(), DATE.toISOString());
  assert.equal(parsed.headers.get('x-order'), '42');
  assert.equal(parsed.text?.trim(), 'Hello Ann');
  assert.equal(parsed.html, '<p>Hello <b>Ann</b></p>');
  assert.equal(parsed.attachments.length, 1);
  const [attachment] = parsed.attachments;
  assert.equal(attachment!.filename, 'invoice.pdf');
  assert.equal(attachment!.contentType, 'application/pdf');
  assert.equal(createHash('sha256').update(attachment!.content).digest('hex'), createHash('sha256').update(pdf).digest('hex'));
  assert.doesNotMatch(raw.toString('latin1'), /hidden@example\.org|^Bcc:/im, 'Bcc must never be written');
});
