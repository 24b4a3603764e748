import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { KeyRing } from '../../src/crypto/keyring.js';
import { composeMime } from '../../src/delivery/mime.js';
import type { ComposedContent } from '../../src/sending/render.js';
import { decorateComposed, trackingPlan } from '../../src/tracking/decorate.js';
import { TrackingLinks } from '../../src/tracking/links.js';

const links = new TrackingLinks(new KeyRing(Buffer.alloc(32, 3)), 'https://t.example.com');
const ID = '01JTRACKTEST00000000000000';
const DATE = new Date('2026-03-04T05:06:07Z');
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3000)]);

function content(overrides: Partial<ComposedContent> = {}): ComposedContent {
  return {
    to: 'customer@example.org', from: 'Shop <orders@shop.example>', subject: 'Your order',
    text: 'Your order shipped: https://shop.example/orders/1\n', plain: null,
    html: '<html><body><p>Your order <a href="https://shop.example/orders/1?a=1&amp;b=2">shipped</a>.</p></body></html>',
    cc: [], bcc: [], replyTo: null, headers: {},
    attachments: [
      { filename: 'invoice.pdf', content: PDF.toString('base64'), contentType: 'application/pdf' },
      { filename: 'notes.txt', content: Buffer.from('see https://shop.example/x\n').toString('base64'), contentType: 'text/plain' },
    ],
    type: 'transactional', trackOpens: null, trackClicks: null, unsubscribeMsg: null,
    ...overrides,
  };
}

/** The MIME parts of a message (split on its boundaries), keyed by their Content-Type line. */
function parts(raw: Buffer): Map<string, string> {
  const text = raw.toString('latin1');
  const boundaries = [...text.matchAll(/boundary="([^"]+)"/g)].map((match) => match[1]!);
  let pieces = [text];
  for (const boundary of boundaries) pieces = pieces.flatMap((piece) => piece.split(`--${boundary}`));
  const byType = new Map<string, string>();
  for (const piece of pieces) {
    const type = /^Content-Type: ([^;\r\n]+)(?:;[^\r\n]*name=([^\r\n;]+))?/im.exec(piece);
    if (type && !type[1]!.startsWith('multipart/')) byType.set(`${type[1]}${type[2] ? ` ${type[2]}` : ''}`, piece);
  }
  return byType;
}

/** The header line as written (mailparser folds the List-* fields into one object). */
function headerLine(parsed: ParsedMail, key: string): string | undefined {
  return parsed.headerLines.find((line) => line.key === key)?.line.replace(/\r\n[ \t]/g, ' ');
}

function compose(stored: ComposedContent, tracked: boolean): Buffer {
  const plan = trackingPlan(stored, { trackOpens: false, trackClicks: false });
  return composeMime(tracked ? decorateComposed(stored, ID, plan, links) : stored, `<${ID}@shop.example>`, DATE);
}

test('opens and clicks rewrite the HTML part only: the text part and the attachments keep every byte', async () => {
  const stored = content({ trackOpens: true, trackClicks: true });
  const plainBytes = compose(stored, false);
  const trackedBytes = compose(stored, true);
  const before = parts(plainBytes);
  const after = parts(trackedBytes);
  assert.equal(after.get('text/plain'), before.get('text/plain'), 'the text part');
  const attachmentKeys = [...before.keys()].filter((key) => key.includes(' '));
  assert.equal(attachmentKeys.length, 2);
  for (const key of attachmentKeys) assert.equal(after.get(key), before.get(key), key);
  assert.notEqual(after.get('text/html'), before.get('text/html'));

  const parsed = await simpleParser(trackedBytes);
  const html = String(parsed.html);
  const click = /href="([^"]+)"/.exec(html)![1]!;
  const [, , , id, index, encoded, signature] = new URL(click).pathname.split('/');
  assert.deepEqual(links.verifyClick(id!, index!, encoded!, signature!), { messageId: ID, index: 0, url: 'https://shop.example/orders/1?a=1&b=2' });
  assert.ok(html.includes(links.openUrl(ID)), 'the pixel');
  assert.equal(parsed.text, stored.text);
  assert.deepEqual(parsed.attachments.map((attachment) => attachment.content.equals(attachment.filename === 'invoice.pdf' ? PDF : Buffer.from('see https://shop.example/x\n'))), [true, true]);
  assert.equal(headerLine(parsed, 'list-unsubscribe'), undefined, 'no unsubscribe on transactional mail that asked for none');
});

test('marketing mail gets the unsubscribe link in both bodies and the RFC 8058 header fields', async () => {
  const stored = content({ type: 'marketing', unsubscribeMsg: 'Leave this list' });
  const parsed = await simpleParser(compose(stored, true));
  const url = links.unsubscribeUrl(ID);
  assert.equal(parsed.text, `${stored.text}\n\nLeave this list: ${url}\n`);
  assert.ok(String(parsed.html).includes(`<a href="${url}">Leave this list</a></p></body>`));
  assert.equal(headerLine(parsed, 'list-unsubscribe-post'), 'List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  assert.equal(headerLine(parsed, 'list-unsubscribe'), `List-Unsubscribe: <${url}>`);
  // Without unsubscribeMsg, marketing mail still carries the link, with a default text; an HTML
  // text has its derived plain part extended.
  const derived = await simpleParser(compose(content({ type: 'marketing', html: '<p>Sale <b>today</b></p>', text: '<p>Sale <b>today</b></p>', plain: 'Sale TODAY' }), true));
  assert.equal(derived.text, `Sale TODAY\n\nUnsubscribe: ${url}\n`);
  assert.equal(String(derived.html).trim(), `<p>Sale <b>today</b></p><p style="font-size:12px"><a href="${url}">Unsubscribe</a></p>`);
  // A caller's own unsubscribe fields (stored before the headers field refused them, in any
  // case) are replaced: the one-click must reach Mailroom's suppression list.
  const own = await simpleParser(compose(content({ type: 'marketing', headers: { 'list-unsubscribe': '<https://evil.example/u>, <mailto:leave@shop.example>', 'LIST-UNSUBSCRIBE-POST': 'List-Unsubscribe=One-Click', 'X-Kept': 'yes' } }), true));
  assert.deepEqual(own.headerLines.filter((line) => line.key.startsWith('list-unsubscribe')).map((line) => line.line.replace(/\r\n[ \t]/g, ' ')), [
    `List-Unsubscribe: <${url}>`, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
  ]);
  assert.equal(headerLine(own, 'x-kept'), 'X-Kept: yes');
});

test('the message chooses; the account decides what it does not; nothing asked, nothing changed', () => {
  assert.deepEqual(trackingPlan(content({ trackOpens: false }), { trackOpens: true, trackClicks: true }), { opens: false, clicks: true, unsubscribe: null });
  assert.deepEqual(trackingPlan(content({ unsubscribeMsg: 'Bye' }), { trackOpens: false, trackClicks: false }), { opens: false, clicks: false, unsubscribe: 'Bye' });
  const stored = content();
  assert.equal(decorateComposed(stored, ID, trackingPlan(stored, { trackOpens: false, trackClicks: false }), links), stored);
  assert.ok(compose(stored, true).equals(compose(stored, false)));
});
