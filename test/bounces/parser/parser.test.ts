import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseBounce } from '../../../src/bounces/parser/index.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

test('an Exim bounce reads the same with CRLF line endings as with LF', () => {
  const lf = fixture('exim-crlf.eml').toString('utf8');
  const crlf = lf.replace(/\n/g, '\r\n');
  const fromLf = parseBounce(lf);
  const fromCrlf = parseBounce(Buffer.from(crlf));
  assert.deepEqual(fromCrlf, fromLf);
  assert.equal(fromCrlf.kind, 'bounce');
  assert.equal(fromCrlf.bounce, true);
  assert.equal(fromCrlf.recipients.length, 1);
  const [recipient] = fromCrlf.recipients;
  assert.equal(recipient?.address, 'gone@example.org');
  assert.equal(recipient?.status, '5.1.1');
  assert.equal(recipient?.replyCode, '550');
  assert.equal(recipient?.reason, 'userunknown');
  assert.equal(recipient?.hard, true);
  assert.ok(!recipient?.diagnostic.includes('\n'));
  assert.equal(fromCrlf.original.messageId, '<msg-3@mailroom.test>');
});

test('a multipart/report DSN gives its recipients in order, each with its own status', () => {
  const report = parseBounce(fixture('dsn-two-recipients.eml'));
  assert.equal(report.kind, 'bounce');
  assert.deepEqual(
    report.recipients.map(({ address, status, replyCode, reason, hard, action }) => ({ address, status, replyCode, reason, hard, action })),
    [
      { address: 'nobody@example.net', status: '5.1.1', replyCode: '550', reason: 'userunknown', hard: true, action: 'failed' },
      { address: 'full@example.org', status: '4.2.2', replyCode: '452', reason: 'mailboxfull', hard: false, action: 'delayed' },
    ],
  );
  assert.equal(report.recipients[0]?.remoteMta, 'mx.example.net');
  assert.equal(report.original.messageId, '<msg-1@mailroom.test>');
  assert.equal(report.original.returnPath, 'bounces+abc@mailroom.test');
  assert.equal(report.original.subject, 'Monthly report');
  assert.equal(report.original.headers['x-mailroom-message-id'], '01JABCDEFGHJKMNPQRSTVWXYZ0');
});

test('an ARF complaint is feedback, not a bounce, and names the complaining recipient', () => {
  const report = parseBounce(fixture('arf-complaint.eml'));
  assert.equal(report.kind, 'feedback');
  assert.equal(report.bounce, false);
  assert.equal(report.recipients.length, 1);
  assert.equal(report.recipients[0]?.address, 'reader@isp.example');
  assert.equal(report.recipients[0]?.reason, 'feedback');
  assert.equal(report.recipients[0]?.feedbackType, 'abuse');
  assert.equal(report.recipients[0]?.hard, false);
  assert.equal(report.original.messageId, '<msg-2@mailroom.test>');
});

test('an out-of-office auto-reply is not a bounce', () => {
  const report = parseBounce(fixture('vacation.eml'));
  assert.equal(report.kind, 'autoreply');
  assert.equal(report.bounce, false);
  assert.equal(report.recipients[0]?.reason, 'vacation');
  assert.equal(report.recipients[0]?.hard, false);
});

test('an ordinary reply that mentions an address is not a bounce', () => {
  const report = parseBounce(fixture('ordinary.eml'));
  assert.deepEqual({ kind: report.kind, bounce: report.bounce, recipients: report.recipients }, { kind: 'none', bounce: false, recipients: [] });
});

test('garbage in: no throw, no bounce', () => {
  for (const input of ['', '\r\n\r\n', 'not an email at all', Buffer.from([0xff, 0xfe, 0x00, 0x1b])]) {
    const report = parseBounce(input);
    assert.equal(report.bounce, false);
  }
});

const summary = (raw: Buffer) => parseBounce(raw).recipients.map(({ address, status, reason, hard }) => ({ address, status, reason, hard }));

test('recipients come from the report, never from the returned message quoted after it without a marker (a newsletter\'s To, Cc, Reply-To and List-* fields)', () => {
  const report = parseBounce(fixture('newsletter-no-marker.eml'));
  assert.equal(report.kind, 'bounce');
  // Each once, in the report's order, although the transcript names the first again.
  assert.deepEqual(summary(fixture('newsletter-no-marker.eml')), [
    { address: 'subscriber@example.net', status: '5.1.1', reason: 'userunknown', hard: true },
    { address: 'second@example.net', status: '5.2.2', reason: 'mailboxfull', hard: false },
  ]);
});

test('a multipart/report of delivery status is a bounce although it says Auto-Submitted: auto-replied', () => {
  const report = parseBounce(fixture('dsn-auto-submitted.eml'));
  assert.equal(report.kind, 'bounce');
  assert.equal(report.bounce, true);
  // Its delivery-status part names no recipient and its text is in no known format: the address
  // and the status it names, and no reason it does not state.
  assert.deepEqual(summary(fixture('dsn-auto-submitted.eml')), [{ address: 'billing@example.com', status: '5.1.1', reason: 'undefined', hard: true }]);
});

test('an unknown format yields the address it names, the status it carries and reason "undefined"; the class is the status\'s', () => {
  const report = parseBounce(fixture('unknown-format.eml'));
  assert.equal(report.kind, 'bounce');
  assert.deepEqual(summary(fixture('unknown-format.eml')), [{ address: 'ana@example.es', status: '5.2.2', reason: 'undefined', hard: false }]);
  const badMailbox = fixture('unknown-format.eml').toString('utf8').replace('5.2.2 (bandeja llena)', '5.1.1 (no existe)');
  assert.deepEqual(summary(Buffer.from(badMailbox)), [{ address: 'ana@example.es', status: '5.1.1', reason: 'undefined', hard: true }]);
  // A reply code alone gives no class of its own: 550 may be a policy as well as a bad mailbox.
  const replyOnly = fixture('unknown-format.eml').toString('utf8').replace('estado 5.2.2 (bandeja llena)', 'respuesta: 550 rechazado');
  assert.deepEqual(summary(Buffer.from(replyOnly)), [{ address: 'ana@example.es', status: '', reason: 'undefined', hard: false }]);
  // With no code at all there is nothing to go on: not read as a bounce of anyone.
  const noCode = fixture('unknown-format.eml').toString('utf8').replace('estado 5.2.2 (bandeja llena)', 'rechazado');
  assert.deepEqual(parseBounce(noCode).recipients, []);
});

test('a recipient a DSN names in two blocks is listed once, where it first appears, with the failure', () => {
  const report = parseBounce(fixture('dsn-repeated-recipient.eml'));
  assert.deepEqual(
    report.recipients.map(({ address, status, reason, hard, action }) => ({ address, status, reason, hard, action })),
    [
      { address: 'First@example.org', status: '5.1.1', reason: 'userunknown', hard: true, action: 'failed' },
      { address: 'second@example.org', status: '5.2.2', reason: 'mailboxfull', hard: false, action: 'failed' },
    ],
  );
});

test('hostile shapes of input (megabyte runs with and without "@", a megabyte header, half a million header lines, tens of thousands of recipients) are read in linear time', { timeout: 60_000 }, () => {
  // Each took minutes to hours with a regex that backtracks from every character; linear, each is
  // well under a second. The timeout only stops a regression from hanging the suite.
  const head = 'From: postmaster@relay.example\nTo: sender@mailroom.test\nSubject: Undeliverable\n';
  const shapes = [
    `${head}\n550 5.1.1 failed\n${'a'.repeat(2_000_000)}\n`,
    `${head}\n550 5.1.1 failed\n${'a@'.repeat(1_000_000)}\n`,
    `${head}X-Long: ${'b'.repeat(2_000_000)}\n\n550 5.1.1 failed for user@example.org\n`,
    `${head}\n550 5.1.1 failed\n${'Received: x\n  y@example.org\n'.repeat(250_000)}`,
    `${head}\n${'<user@example.org>: 550 5.1.1 unknown\n'.repeat(50_000)}`,
    `${head}\n${Array.from({ length: 20_000 }, (_, i) => `<user${i}@example.org>: 550 5.1.1 unknown`).join('\n')}\n`,
    [
      head, 'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"', '', '--b', 'Content-Type: message/delivery-status', '',
      'Reporting-MTA: dns; relay.example', '', ...Array.from({ length: 20_000 }, (_, i) => `Final-Recipient: rfc822; u${i}@example.org\nAction: failed\nStatus: 5.1.1\n`), '--b--', '',
    ].join('\n'),
  ];
  for (const shape of shapes) {
    const report = parseBounce(shape);
    assert.equal(report.kind, 'bounce');
  }
});
