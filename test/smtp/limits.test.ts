import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionCounter, LoginThrottle } from '../../src/smtp/limits.js';
import { REPLY_RULES, replyForError, SmtpReply } from '../../src/smtp/replies.js';
import { ApiError } from '../../src/shared/errors.js';

test('connections per address: admitted up to the limit, released once per admitted session', () => {
  const counter = new ConnectionCounter(2);
  assert.ok(counter.admit('s1', '10.0.0.1'));
  assert.ok(counter.admit('s2', '10.0.0.1'));
  assert.equal(counter.admit('s3', '10.0.0.1'), false);
  assert.ok(counter.admit('s4', '10.0.0.2'), 'another address has its own count');
  counter.release('s3'); // never admitted: changes nothing
  assert.equal(counter.admit('s5', '10.0.0.1'), false);
  counter.release('s1');
  counter.release('s1'); // twice: counted once
  assert.ok(counter.admit('s6', '10.0.0.1'));
  assert.equal(counter.admit('s7', '10.0.0.1'), false);
});

test('login lock-out: N failures within the window lock the address until the oldest of them leaves it', () => {
  let now = 1_000_000;
  const throttle = new LoginThrottle(3, 60_000, () => now);
  throttle.fail('a');
  now += 10_000;
  throttle.fail('a');
  assert.equal(throttle.lockedFor('a'), 0);
  now += 10_000;
  throttle.fail('a');
  assert.equal(throttle.lockedFor('a'), 40_000, 'until the first failure is a window old');
  assert.equal(throttle.lockedFor('b'), 0);
  now += 40_001;
  assert.equal(throttle.lockedFor('a'), 0);
  throttle.fail('a');
  assert.ok(throttle.lockedFor('a') > 0, 'three failures in the last minute again');
});

test('reply rules: each pipeline error code has its SMTP reply; the stage refines VALIDATION_ERROR; anything else is 451 4.3.0', () => {
  const cases: [string, 'mail' | 'rcpt' | 'data', number, string][] = [
    ['ACCOUNT_SUSPENDED', 'mail', 550, '5.7.1'],
    ['SENDER_NOT_VERIFIED', 'data', 550, '5.7.1'],
    ['RECIPIENT_SUPPRESSED', 'rcpt', 550, '5.7.1'],
    ['RATE_LIMITED', 'data', 451, '4.7.1'],
    ['ROLE_ADDRESS_NOT_ALLOWED', 'rcpt', 550, '5.7.1'],
    ['RECIPIENT_DOMAIN_INVALID', 'rcpt', 550, '5.1.2'],
    ['ATTACHMENT_NOT_ALLOWED', 'data', 554, '5.6.1'],
    ['MESSAGE_TOO_LARGE', 'data', 552, '5.3.4'],
    ['IDEMPOTENCY_KEY_REUSED', 'data', 550, '5.6.0'],
    ['HIPAA_FEATURE_UNAVAILABLE', 'data', 550, '5.7.1'],
    ['VALIDATION_ERROR', 'mail', 553, '5.1.7'],
    ['VALIDATION_ERROR', 'rcpt', 553, '5.1.3'],
    ['VALIDATION_ERROR', 'data', 550, '5.6.0'],
  ];
  for (const [code, stage, reply, enhanced] of cases) {
    const answer = replyForError(new ApiError(400, code, 'Because.'), stage);
    assert.equal(answer.responseCode, reply, code);
    assert.equal(answer.message, `${enhanced} Because.`);
  }
  assert.equal(new Set(REPLY_RULES.map((rule) => rule.error)).size, cases.length - 2, 'every rule has a case');
  const internal = replyForError(new Error('disk on fire'), 'data');
  assert.equal(internal.responseCode, 451);
  assert.match(internal.message, /^4\.3\.0 /);
  assert.doesNotMatch(internal.message, /disk on fire/, 'no internal detail leaks');
  assert.match(new SmtpReply(550, '5.7.1', 'two\r\nlines').message, /^5\.7\.1 two lines$/);
});
