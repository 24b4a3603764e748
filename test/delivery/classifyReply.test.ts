import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { classifyReply, classifySmtpError, type ReplyInput } from '../../src/delivery/classifyReply.js';
import { replyRules } from '../../src/delivery/replyRules.js';
import type { ReplyClassification } from '../../src/delivery/transport.js';

/**
 * The reply rules against real-world replies (fixtures/smtp-replies.json): what each one must
 * mean, and which rule must decide it, so that reordering the rules cannot silently change
 * a classification.
 */
interface Fixture {
  input: ReplyInput;
  expect: Pick<ReplyClassification, 'outcome' | 'reason' | 'bounceClass' | 'enhancedCode' | 'rule'> & { retryAfterMs?: number | null };
  note: string;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/smtp-replies.json', import.meta.url), 'utf8')) as Fixture[];
const HARD_REASONS = new Set(['userunknown', 'hostunknown', 'hasmoved', 'notaccept']);

function summary(result: ReplyClassification): Fixture['expect'] {
  const { outcome, reason, bounceClass, enhancedCode, retryAfterMs, rule } = result;
  return { outcome, reason, bounceClass, enhancedCode, retryAfterMs, rule };
}

test('every fixture classifies as expected', () => {
  assert.ok(fixtures.length >= 80, `only ${fixtures.length} fixtures`);
  const mismatches: string[] = [];
  for (const [index, fixture] of fixtures.entries()) {
    const got = summary(classifyReply(fixture.input));
    const { outcome, reason, bounceClass, enhancedCode, retryAfterMs = null, rule } = fixture.expect;
    const want = { outcome, reason, bounceClass, enhancedCode, retryAfterMs, rule };
    try {
      assert.deepEqual(got, want);
    } catch {
      mismatches.push(`#${index} ${fixture.note}\n  reply: ${fixture.input.text.split('\n')[0]}\n  want:  ${JSON.stringify(want)}\n  got:   ${JSON.stringify(got)}`);
    }
  }
  assert.equal(mismatches.length, 0, `${mismatches.length} of ${fixtures.length} fixtures misclassified:\n${mismatches.join('\n')}`);
});

test('every rule decides at least one fixture', () => {
  const used = new Set(fixtures.map((fixture) => classifyReply(fixture.input).rule));
  const unused = replyRules.map((rule) => rule.id).filter((id) => !used.has(id));
  assert.deepEqual(unused, [], 'rules no fixture exercises');
});

test('the rules are consistent: a 4xx never bounces, a 5xx never defers, HARD only where the address is bad', () => {
  const ids = replyRules.map((rule) => rule.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate rule ids');
  const classOf = { delivered: 2, deferred: 4, bounced: 5 } as const;
  for (const { id, match, result } of replyRules) {
    assert.match(id, /^[a-z0-9]+(?:-[a-z0-9]+)*$/, `${id}: not kebab-case`);
    if (match.text) assert.match(match.text.flags, /^[^gy]*i[^gy]*$/, `${id}: text must be case-insensitive and stateless`);
    for (const entry of match.codes ?? []) {
      const [from, to] = typeof entry === 'number' ? [entry, entry] : [entry.from, entry.to];
      assert.equal(Math.floor(from / 100), classOf[result.outcome], `${id}: ${result.outcome} on ${from}`);
      assert.equal(Math.floor(to / 100), classOf[result.outcome], `${id}: ${result.outcome} on ${to}`);
    }
    // Rules without codes see failures without a reply: those may only defer.
    if (!match.codes) assert.equal(result.outcome, 'deferred', `${id}: no reply code but ${result.outcome}`);
    assert.equal(result.reason === null, result.outcome === 'delivered', `${id}: reason ${result.reason}`);
    assert.equal(result.bounceClass !== null, result.outcome === 'bounced', `${id}: bounceClass ${result.bounceClass}`);
    if (result.bounceClass) assert.equal(result.bounceClass === 'HARD', HARD_REASONS.has(result.reason ?? ''), `${id}: ${result.reason} is ${result.bounceClass}`);
  }
  const last = replyRules.at(-1);
  assert.deepEqual(last?.match, {}, 'the last rule must catch everything');
});

test('every reply code class gets its outcome, whatever the text', () => {
  const texts = ['User unknown', 'Mailbox full', 'Greylisted', 'blocked using zen.spamhaus.org', 'Service unavailable', ''];
  for (const text of texts) {
    for (const code of [250, 251, 421, 450, 451, 452, 454, 500, 550, 551, 552, 553, 554, 556]) {
      const result = classifyReply({ code, text: `${code} ${text}` });
      const want = code < 300 ? 'delivered' : code < 500 ? 'deferred' : 'bounced';
      assert.equal(result.outcome, want, `${code} ${text}: ${result.rule}`);
    }
  }
});

test('the enhanced code is read where servers put it, and trusted only when its class agrees with the reply code', () => {
  const cases: [number | null, string, string | null][] = [
    [550, '550 5.1.1 <x@example.com>: Recipient address rejected: User unknown', '5.1.1'],
    [550, '550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp', '5.1.1'],
    [550, '550 #5.1.0 Address rejected.', '5.1.0'],
    [553, "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", '5.7.1'],
    [421, '421 4.7.650 The mail server [203.0.113.25] has been temporarily rate limited', '4.7.650'],
    [250, '250 2.0.0 OK', '2.0.0'],
    [550, '550 4.2.2 Mailbox full', null],
    [451, '451 5.7.1 Try later', null],
    [250, '250 5.0.0 OK', null],
    [550, '550 Rejected: 5.6.7.8 is listed at a DNSBL', null],
    [550, '550 Client 10.5.1.1 refused', null],
    [null, '550 5.1.1 User unknown', null],
  ];
  for (const [code, text, want] of cases) assert.equal(classifyReply({ code, text }).enhancedCode, want, text);
});

test('retry hints are read from deferrals only', () => {
  const cases: [string, number | null][] = [
    ['451 4.7.1 Greylisted, try again in 60 seconds', 60_000],
    ['450 4.7.1 Rate limit exceeded, retry after 300 seconds', 300_000],
    ['451 4.7.1 Please try again later (in 10 min)', 600_000],
    ['421 4.7.0 Try again in 1 hour', 3_600_000],
    ['450 4.2.0 Greylisted for 300 seconds (see http://postgrey.schweikert.ch/help/example.com.html)', 300_000],
    ['451 4.7.1 Greylisting in action, please come back in 00:05:00', 300_000],
    ['451 Please wait 2 minutes before retrying', 120_000],
    ['421 4.7.0 Temporary System Problem. Try again later (10).', null],
    ['451 4.7.500 Server busy. Please try again later from [203.0.113.25]. (S77714)', null],
    ['452 4.5.3 You exceeded 100 messages in 1 hour', null],
    ['421 4.7.0 [TS03] All messages will be permanently deferred; Retrying will NOT succeed.', null],
  ];
  for (const [text, want] of cases) assert.equal(classifyReply({ code: Number(text.slice(0, 3)), text }).retryAfterMs, want, text);
  // A bounce is not retried, so a hint on it means nothing.
  assert.equal(classifyReply({ code: 550, text: '550 5.7.1 Too many messages, try again in 5 minutes' }).retryAfterMs, null);
});

test('classifySmtpError reads Nodemailer errors', () => {
  const rejected = classifySmtpError({
    code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO',
    response: '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
    message: 'Can\'t send mail - all recipients were rejected: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
  });
  assert.deepEqual({ ...summary(rejected), code: rejected.code, reply: rejected.reply }, {
    outcome: 'bounced', reason: 'userunknown', bounceClass: 'HARD', enhancedCode: '5.1.1', retryAfterMs: null, rule: 'user-unknown', code: 550,
    reply: '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
  });

  const timeout = classifySmtpError(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT', command: 'CONN' }));
  assert.deepEqual(summary(timeout), { outcome: 'deferred', reason: 'networkerror', bounceClass: null, enhancedCode: null, retryAfterMs: null, rule: 'connection-failed' });
  assert.equal(timeout.code, null);
  assert.equal(timeout.reply, 'ETIMEDOUT: Connection timeout');

  const refused = classifySmtpError({ code: 'ECONNECTION', message: 'connect ECONNREFUSED 127.0.0.1:25' });
  assert.equal(refused.outcome, 'deferred');
  assert.equal(refused.rule, 'connection-failed');
  assert.equal(refused.reply, 'ECONNECTION: connect ECONNREFUSED 127.0.0.1:25');

  const tls = classifySmtpError({ code: 'ETLS', message: 'Error initiating TLS - Client network socket disconnected before secure TLS connection was established' });
  assert.deepEqual([tls.outcome, tls.reason, tls.rule], ['deferred', 'failedstarttls', 'tls-failed']);

  const deferred = classifySmtpError({ code: 'EENVELOPE', responseCode: 451, response: '451 4.7.1 Greylisted, try again in 60 seconds' });
  assert.deepEqual([deferred.outcome, deferred.rule, deferred.retryAfterMs], ['deferred', 'greylisted', 60_000]);

  // A relay refusing our credentials is our problem: defer, never bounce the recipient.
  const auth = classifySmtpError({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Username and Password not accepted', command: 'AUTH PLAIN' });
  assert.deepEqual([auth.outcome, auth.reason, auth.bounceClass, auth.enhancedCode], ['deferred', 'securityerror', null, '5.7.8']);

  // A reply without responseCode (a hand-made error) still counts by its leading code.
  assert.equal(classifySmtpError({ response: '552 5.2.2 Mailbox full' }).reason, 'mailboxfull');
  for (const odd of [undefined, null, 'socket hang up', 42]) {
    const result = classifySmtpError(odd);
    assert.equal(result.outcome, 'deferred', String(odd));
    assert.ok(result.reply.length > 0);
  }
});
