import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { classifyReason } from '../../src/bounces/parser/classify.js';
import { parseBounce } from '../../src/bounces/parser/index.js';
import { classifyReply, type ReplyInput } from '../../src/delivery/classifyReply.js';
import type { SmtpCommand } from '../../src/delivery/replyRules.js';

/**
 * One table of reasons (src/classification/phrases.ts): the reason of a refusal is the same whether
 * it came back in the SMTP session (the delivery engine's reply rules) or in a DSN a day later (the
 * bounce parser), for every permanent reply of the delivery fixtures and every command it can answer.
 */
const replies = (JSON.parse(readFileSync(new URL('../delivery/fixtures/smtp-replies.json', import.meta.url), 'utf8')) as Array<{ input: ReplyInput }>)
  .map(({ input }) => input)
  .filter((input) => input.code !== null && input.code >= 500);
const COMMANDS: SmtpCommand[] = ['MAIL', 'RCPT', 'DATA'];

test('every permanent reply has the same reason live and in a DSN, after MAIL, RCPT or DATA', () => {
  assert.ok(replies.length >= 50, `only ${replies.length} permanent replies`);
  const differ: string[] = [];
  for (const input of replies) {
    for (const command of COMMANDS) {
      const live = classifyReply({ ...input, command });
      if (live.outcome !== 'bounced') continue; // our own relay refusing our credentials (EAUTH) is no bounce
      const text = input.text.split(/\r?\n/).join(' ');
      const dsn = classifyReason({ text, status: live.enhancedCode ?? '', replyCode: String(input.code), command });
      if (live.reason !== dsn.reason) differ.push(`${command} ${input.text.slice(0, 90)}: live ${live.reason} (${live.rule}), DSN ${dsn.reason} (${dsn.rule})`);
    }
  }
  assert.deepEqual(differ, []);
});

/** A Postfix DSN carrying a remote server's reply, as the bounce parser receives it. */
function dsnWith(reply: string, status: string): string {
  return [
    'From: MAILER-DAEMON@mx.mailroom.test', 'To: bounces+1@mailroom.test', 'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'I\'m sorry to have to inform you that your message could not be delivered.', '',
    '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.mailroom.test', '',
    'Final-Recipient: rfc822; jdoe@example.com', 'Action: failed', `Status: ${status}`, 'Remote-MTA: dns; mx.example.com',
    `Diagnostic-Code: smtp; ${reply}`, '', '--b--', '',
  ].join('\n');
}

test('a full mailbox, an unknown user and a blocklisted IP: the same reason and class live and in a DSN', () => {
  const cases = [
    '552-5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm - gsmtp',
    '550 5.1.1 <jdoe@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
    '554 5.7.1 Service unavailable; Client host [203.0.113.25] blocked using zen.spamhaus.org',
  ];
  for (const reply of cases) {
    const live = classifyReply({ code: Number(reply.slice(0, 3)), text: reply, command: 'RCPT' });
    const [recipient] = parseBounce(dsnWith(reply, live.enhancedCode ?? '5.0.0')).recipients;
    assert.ok(recipient, reply);
    assert.deepEqual([recipient.reason, recipient.hard], [live.reason, live.bounceClass === 'HARD'], reply);
  }
});
