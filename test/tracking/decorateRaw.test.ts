import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { KeyRing } from '../../src/crypto/keyring.js';
import { decorateRaw } from '../../src/tracking/decorateRaw.js';
import { TrackingLinks } from '../../src/tracking/links.js';

/**
 * SMTP submissions are tracked in the MIME tree as the client wrote it: the message here is
 * built by another implementation (Nodemailer's own composer, with its QP and base64), and
 * what comes out is read back by mailparser.
 */
const links = new TrackingLinks(new KeyRing(Buffer.alloc(32, 9)), 'https://t.example.com');
const ID = '01JRAWTRACK000000000000000';
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(4000)]);
const HTML = '<html><body><p>Grüße! <a href="https://shop.example/a?x=1&amp;y=2">shop</a> and <a href="https://shop.example/b">b</a></p></body></html>';

async function submitted(): Promise<Buffer> {
  return new MailComposer({
    from: 'Shop <news@shop.example>', to: 'reader@example.org', subject: 'Sale', messageId: '<raw@shop.example>',
    text: 'Grüße! https://shop.example/a', html: HTML,
    attachments: [{ filename: 'logo.png', content: PNG, contentType: 'image/png' }, { filename: 'terms.html', content: '<a href="https://terms.example/">terms</a>', contentType: 'text/html' }],
  }).compile().build();
}

/** The bytes between the first and the last line that contains `marker`'s part (its whole MIME part). */
function partOf(raw: Buffer, filename: string): string {
  const text = raw.toString('latin1');
  const at = text.indexOf(`filename=${filename}`);
  const start = text.lastIndexOf('\r\n--', at);
  const end = text.indexOf('\r\n--', at);
  return text.slice(start, end);
}

test('opens and clicks: the HTML part is rewritten; the text part, attachments (an HTML one too) and boundaries keep their bytes', async () => {
  const raw = await submitted();
  const out = decorateRaw(raw, ID, { opens: true, clicks: true, unsubscribe: null }, links);
  const before = await simpleParser(raw);
  const after = await simpleParser(out);
  assert.equal(after.text, before.text);
  for (const name of ['logo.png', 'terms.html']) assert.equal(partOf(out, name), partOf(raw, name), name);
  assert.ok(after.attachments[0]!.content.equals(PNG));
  const html = String(after.html);
  assert.ok(html.includes('Grüße!'), 'UTF-8 decoded and encoded again');
  const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!);
  const targets = hrefs.map((href) => {
    const [, , , id, index, encoded, signature] = new URL(href).pathname.split('/');
    return links.verifyClick(id!, index!, encoded!, signature!)?.url;
  });
  assert.deepEqual(targets, ['https://shop.example/a?x=1&y=2', 'https://shop.example/b']);
  assert.ok(html.includes(links.openUrl(ID)));
  // Only the HTML part's lines differ.
  const changed = out.toString('latin1').split('\r\n').filter((line) => !raw.toString('latin1').split('\r\n').includes(line));
  assert.ok(changed.length > 0 && changed.every((line) => !line.startsWith('--') && !/^Content-/i.test(line)), changed.join('\n'));
});

test('marketing: the unsubscribe link in both bodies and RFC 8058 header fields; a 7bit body whose lines grow too long becomes quoted-printable', async () => {
  const url = links.unsubscribeUrl(ID);
  const out = decorateRaw(await submitted(), ID, { opens: false, clicks: false, unsubscribe: 'Unsubscribe' }, links);
  const parsed = await simpleParser(out);
  assert.equal(parsed.text, `Grüße! https://shop.example/a\n\nUnsubscribe: ${url}`);
  assert.ok(String(parsed.html).includes(`<a href="${url}">Unsubscribe</a></p></body>`));
  assert.match(out.toString('latin1').replace(/\r\n(?=[ \t])/g, ''), new RegExp(`^List-Unsubscribe: ?<${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n`));

  const longLine = `<p>${'<a href="https://shop.example/x">x</a> '.repeat(20)}</p>`;
  const plain = Buffer.from(`From: a@shop.example\r\nTo: b@example.org\r\nSubject: s\r\nContent-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${longLine}\r\n`, 'latin1');
  const tracked = decorateRaw(plain, ID, { opens: false, clicks: true, unsubscribe: null }, links);
  assert.match(tracked.toString('latin1'), /Content-Transfer-Encoding: quoted-printable/);
  assert.ok(tracked.toString('latin1').split('\r\n').every((line) => line.length <= 998));
  assert.equal([...String((await simpleParser(tracked)).html).matchAll(/\/t\/c\//g)].length, 20);
});

test('marketing: the submitted message\'s own List-Unsubscribe and -Post are replaced, not kept beside Mailroom\'s', async () => {
  const url = links.unsubscribeUrl(ID);
  const raw = Buffer.from([
    'From: a@shop.example', 'To: b@example.org', 'Subject: s',
    'List-Unsubscribe: <https://evil.example/u>,', ' <mailto:leave@evil.example>', 'list-unsubscribe-post: List-Unsubscribe=One-Click',
    'Content-Type: text/plain; charset=us-ascii', '', 'Hello', '',
  ].join('\r\n'), 'latin1');
  const out = decorateRaw(raw, ID, { opens: false, clicks: false, unsubscribe: 'Unsubscribe' }, links).toString('latin1');
  const head = out.slice(0, out.indexOf('\r\n\r\n')).replace(/\r\n(?=[ \t])/g, '');
  assert.deepEqual(head.split('\r\n').filter((line) => /^list-unsubscribe/i.test(line)), [`List-Unsubscribe: <${url}>`, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click']);
  assert.ok(!out.includes('evil.example'));
  // Without an unsubscribe to add (transactional), the message's own fields stay.
  assert.ok(decorateRaw(raw, ID, { opens: true, clicks: false, unsubscribe: null }, links).toString('latin1').includes('List-Unsubscribe: <https://evil.example/u>,'));
});

test('nothing asked, the same bytes; a charset whose bytes can look like markup is left alone', () => {
  const raw = Buffer.from('From: a@shop.example\r\nContent-Type: text/html; charset=iso-2022-jp\r\n\r\n<a href="https://x.example/">x</a>\r\n', 'latin1');
  assert.equal(decorateRaw(raw, ID, { opens: false, clicks: false, unsubscribe: null }, links), raw);
  assert.ok(decorateRaw(raw, ID, { opens: true, clicks: true, unsubscribe: null }, links).equals(raw));
});
