import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, test } from 'node:test';
import { TEST_KEY } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { SmtpClient, plainToken, type Reply } from '../helpers/smtpClient.js';

/*
 * Fuzz of the SMTP submission door (issue: "2,000 random and malformed command sequences and
 * over-long lines: each answered with a 5xx or a clean close; the process never crashes and keeps
 * serving the other connections").
 *
 * Mailroom runs as a real child process (roles api,smtp), so that a crash is seen. Each sequence
 * is generated from its own PRNG (seed + index: FUZZ_SEED=<n> replays a run) and is judged
 * against a model of the connection (TLS, EHLO, AUTH, transaction): a command that is valid in
 * its state must get its success reply, one that is invalid (state or syntax) a 5xx, or 421 and a
 * close; a malformed message a 5xx at the end of DATA, never 250 and never a 4xx. Every reply must
 * carry a 3-digit code (and an enhanced code of the same class, when it has one). While the
 * sequences run, a separate good client submits a valid message every 200 ms; each must be queued.
 * Violations are collected (not thrown at the first) and reported grouped by rule, each with the
 * transcript of its connection, so that one run shows every problem.
 */

const SEQUENCES = Number(process.env.FUZZ_SEQUENCES ?? 2000);
const SEED = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) >>> 0 : randomInt(2 ** 31);
/** Sequences run before the IP credential exists: MAIL must be refused (530) unless AUTH succeeded. */
const NO_CREDENTIAL_SEQUENCES = 30;
const LANES = 32;
const READ_MS = 10_000;
const CLOSE_MS = 8_000;
const GOOD_EVERY_MS = 200;
const GOOD_READ_MS = 5_000;
/** MAILROOM_SMTP_MAX_RECIPIENTS default. */
const MAX_RECIPIENTS = 50;
const MAX_COMMAND = 4096;
const MAX_MESSAGE = 10 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** lo..hi inclusive */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((sum, [weight]) => sum + weight, 0);
    let at = this.next() * total;
    for (const [weight, item] of items) {
      at -= weight;
      if (at < 0) return item;
    }
    return items[items.length - 1]![1];
  }
}

function seedFor(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const UTF8_SAMPLES = ['é', 'ü', '€', '😀', '\u200b', '\ufeff', '\u2028', 'Ω', '中文', 'ſ', 'ı'].map((text) => Buffer.from(text, 'utf8'));
const BAD_UTF8 = [[0xc3], [0xed, 0xa0, 0x80], [0xff], [0xfe], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

/** Random bytes: printable ASCII, NUL, controls, 8-bit, UTF-8 and broken UTF-8. */
function randomBytes(rng: Rng, length: number, options: { noLineEnds?: boolean; noNul?: boolean } = {}): Buffer {
  const out: number[] = [];
  while (out.length < length) {
    const r = rng.next();
    if (r < 0.55) out.push(rng.range(0x20, 0x7e));
    else if (r < 0.62) out.push(options.noNul ? 0x20 : 0x00);
    else if (r < 0.72) {
      let control = rng.range(0x01, 0x1f);
      if (options.noLineEnds && (control === 0x0a || control === 0x0d)) control = 0x09;
      out.push(control);
    } else if (r < 0.84) out.push(rng.range(0x80, 0xff));
    else if (r < 0.95) out.push(...rng.pick(UTF8_SAMPLES));
    else out.push(...rng.pick(BAD_UTF8));
  }
  return Buffer.from(out.slice(0, Math.max(length, 0)));
}

function randomWord(rng: Rng, min = 1, max = 10): string {
  let word = '';
  const length = rng.range(min, max);
  for (let i = 0; i < length; i++) word += String.fromCharCode(rng.range(0x41, 0x5a));
  return word;
}

/** Commands smtp-server has a handler for: a random line must not start with one. */
const KNOWN_VERBS = new Set(['AUTH', 'DATA', 'EHLO', 'HELO', 'HELP', 'KILL', 'MAIL', 'NOOP', 'QUIT', 'RCPT', 'RSET', 'SHELL', 'STARTTLS', 'VRFY', 'WIZ', 'XCLIENT', 'XFORWARD']);

/** The verb as smtp-server reads it (UTF-8, first space-separated token, upper-cased). */
function verbOf(line: Buffer): string {
  return (line.toString().split(' ')[0] ?? '').toUpperCase();
}

/** A line of random bytes (no line end) that is no known command. */
function junkLine(rng: Rng, length: number): Buffer {
  const line = randomBytes(rng, length, { noLineEnds: true });
  return KNOWN_VERBS.has(verbOf(line)) ? Buffer.concat([Buffer.from('Z'), line]) : line;
}

function show(data: Buffer | string, max = 160): string {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  return JSON.stringify(text.slice(0, max)) + (text.length > max ? `...(${text.length} bytes)` : '');
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The model of a connection and what the server must answer

interface ConnState {
  tls: boolean;
  ehlo: boolean;
  /** Loopback has an IP credential (every connection after the first phase). */
  ip: boolean;
  authed: boolean;
  mail: boolean;
  rcpts: Set<string>;
}

function newState(tls: boolean, ip: boolean): ConnState {
  return { tls, ehlo: false, ip, authed: false, mail: false, rcpts: new Set() };
}

const hasPrincipal = (s: ConnState) => s.ip || s.authed;
function resetTransaction(s: ConnState): void {
  s.mail = false;
  s.rcpts.clear();
}

interface Expectation {
  allowed: (reply: Reply) => boolean;
  want: string;
  /** Updates the model with the reply (applied whatever the verdict, so later steps are judged on the server's real state); may name a violated rule. */
  apply?: (s: ConnState, reply: Reply) => string | void;
}

/** 5xx, or 421 (the server closes: checked separately). */
const isRefusal = (reply: Reply) => reply.code >= 500 || reply.code === 421;
const REFUSE: Expectation = { allowed: isRefusal, want: '5xx (or 421 and close)' };
const only = (...codes: number[]) => (reply: Reply) => codes.includes(reply.code);
/** A valid command in the wrong state (before EHLO, MAIL twice, RCPT before MAIL, DATA before RCPT). */
const BAD_SEQUENCE: Expectation = { allowed: only(503), want: '503 (bad sequence of commands)' };
/** Accepted or refused, but never a transient 4xx (other than 421 with a close). */
const EITHER: Expectation = { allowed: (reply) => (reply.code >= 200 && reply.code < 400) || isRefusal(reply), want: '2xx/3xx or 5xx (no 4xx)' };

interface Cmd {
  /** Stable name: violations are grouped by it. */
  name: string;
  line: Buffer;
  expect: (s: ConnState) => Expectation;
}

const cmd = (name: string, line: Buffer | string, expect: (s: ConnState) => Expectation): Cmd => ({
  name,
  line: typeof line === 'string' ? utf8(line) : line,
  expect,
});

function ehloApply(s: ConnState, reply: Reply): string | void {
  if (reply.code !== 250) return;
  s.ehlo = true;
  resetTransaction(s);
  if (!s.tls && reply.lines.some((line) => /^AUTH\b/i.test(line))) return 'AUTH offered before TLS (SPEC section 2)';
}

const VALID_HOSTS = ['client.example.com', 'localhost', '[127.0.0.1]', 'mail.example.org', 'x', '[IPv6:::1]'];
const validEhlo = (rng: Rng): Cmd =>
  cmd(`valid ${rng.chance(0.8) ? 'EHLO' : 'HELO'}`, `${rng.chance(0.8) ? 'EHLO' : 'HELO'} ${rng.pick(VALID_HOSTS)}`, () => ({ allowed: only(250), want: '250', apply: ehloApply }));

function brokenEhlo(rng: Rng): Cmd {
  const line = rng.pick(['EHLO', 'HELO', 'EHLO a b', 'HELO a b c', 'EHLO  ', `EHLO ${'h'.repeat(301)}`, 'EHLO client\x01.example', 'HELO \x00']);
  return cmd('EHLO/HELO with a broken argument', line, () => ({ ...REFUSE, apply: ehloApply }));
}

const randomEhlo = (rng: Rng): Cmd =>
  cmd('EHLO with random bytes', Buffer.concat([utf8(rng.chance(0.5) ? 'EHLO ' : 'HELO '), junkLine(rng, rng.range(1, 80))]), () => ({ ...EITHER, apply: ehloApply }));

const VALID_SENDERS = [
  'MAIL FROM:<sender@example.com>',
  'MAIL FROM:<>',
  'MAIL FROM:<First.Last+tag@mail.example.org>',
  'MAIL FROM:<SENDER@EXAMPLE.COM>',
  'mail from:<sender@example.com>',
  'MAIL FROM:<sender@example.com> SIZE=2048',
  'MAIL FROM:<sender@example.com> BODY=8BITMIME',
  'MAIL FROM:<sender@example.com> BODY=7BIT SIZE=100',
  'MAIL FROM:<sender@example.com> SMTPUTF8',
  'MAIL FROM:<üser@exämple.com> SMTPUTF8',
];

function mailCommand(name: string, line: Buffer | string, valid: boolean): Cmd {
  return cmd(name, line, (s) => {
    const apply = (state: ConnState, reply: Reply) => {
      if (reply.code === 250) state.mail = true;
    };
    if (!valid) return { ...REFUSE, apply };
    if (!s.ehlo || s.mail) return { ...BAD_SEQUENCE, apply };
    if (!hasPrincipal(s)) return { allowed: (reply) => reply.code === 530 && reply.enhanced === '5.7.0', want: '530 5.7.0 (authentication required)', apply };
    return { allowed: only(250), want: '250', apply };
  });
}

const validMail = (rng: Rng): Cmd => mailCommand('MAIL (valid syntax)', rng.pick(VALID_SENDERS), true);

const BROKEN_SENDERS: readonly (string | Buffer)[] = [
  'MAIL FROM:<a@b SIZE=x>',
  'MAIL FROM:sender@example.com',
  'MAIL FROM:<sender@@example.com>',
  'MAIL FROM:<sender@example.com> SIZE=x',
  'MAIL FROM:<sender@example.com> SIZE=99999999999',
  'MAIL FROM:<sender@example.com> SIZE=-1',
  'MAIL FROM:<sender@example.com> BODY=BINARYMIME',
  'MAIL FROM:<sender@example.com> SMTPUTF8=yes',
  'MAIL FROM:<sender@example.com> SIZE=1 SIZE=2',
  'MAIL FROM:<sender@example.com> SIZE',
  'MAIL TO:<sender@example.com>',
  'MAIL FROM<sender@example.com>',
  'MAIL FROM:<.sender@example.com>',
  'MAIL FROM:<sender@example>',
  'MAIL FROM:<sender@-example.com>',
  `MAIL FROM:<${'a'.repeat(70)}@example.com>`,
  `MAIL FROM:<sender@${'d'.repeat(64)}.example.com>`,
  Buffer.from('MAIL FROM:<sender\x00@example.com>', 'latin1'),
  Buffer.from('MAIL FROM:<sender@example.com\x01>', 'latin1'),
  'MAIL FROM:<sender@[300.1.1.1]>',
  'MAIL FROM:<sender@[127.0.0.1]>',
  'MAIL FROM:<> SIZE=abc',
  'MAIL FROM:',
  'MAIL',
  'MAIL FROM:<postmaster>',
  'MAIL FROM:<sender@exa mple.com>',
  'MAIL FROM:<<sender@example.com>>',
  'MAIL FROM:<sender@example.com',
  'MAIL FROM:<"unterminated@example.com>',
];
const brokenMail = (rng: Rng): Cmd => mailCommand('MAIL with a broken argument', rng.pick(BROKEN_SENDERS), false);

/** Parameters of extensions that are not offered in EHLO: RFC 5321 4.1.1.11 asks for 555. */
const UNOFFERED_MAIL_PARAMETERS = [
  'MAIL FROM:<sender@example.com> XYZZY=1',
  'MAIL FROM:<sender@example.com> FOO',
  'MAIL FROM:<sender@example.com> RET=FULL',
  'MAIL FROM:<sender@example.com> ENVID=abc123',
  'MAIL FROM:<sender@example.com> REQUIRETLS',
];
const unofferedMailParameter = (rng: Rng): Cmd => mailCommand('MAIL with a parameter of an extension not offered (RFC 5321: 555)', rng.pick(UNOFFERED_MAIL_PARAMETERS), false);

/** Either accepted or refused (lenient parsing is the server's choice): never a 4xx. */
const LENIENT_SENDERS = ['MAIL FROM: <sender@example.com>', 'MAIL FROM:<üser@example.com>', 'MAIL FROM:<@relay.example.net:sender@example.com>', 'MAIL FROM:<sender@example.com> BODY=8bitmime'];
const lenientMail = (rng: Rng): Cmd =>
  cmd('MAIL (lenient syntax)', rng.pick(LENIENT_SENDERS), () => ({
    ...EITHER,
    apply: (s, reply) => {
      if (reply.code === 250) s.mail = true;
    },
  }));

/** address: the recipient as the server will record it (null: unparseable); valid: the command is one the server must take. */
function rcptCommand(name: string, line: Buffer | string, address: string | null, valid = address !== null): Cmd {
  const key = (address ?? (typeof line === 'string' ? line : line.toString('latin1'))).toLowerCase();
  return cmd(name, line, (s) => {
    const apply = (state: ConnState, reply: Reply) => {
      if (reply.code === 250) state.rcpts.add(key);
    };
    const full = s.ehlo && s.mail && s.rcpts.size >= MAX_RECIPIENTS && !s.rcpts.has(key);
    const tooMany = (reply: Reply) => reply.code === 452 && reply.enhanced === '4.5.3';
    if (valid) {
      if (!s.ehlo || !s.mail) return { ...BAD_SEQUENCE, apply };
      if (full) return { allowed: tooMany, want: '452 4.5.3 (too many recipients)', apply };
      return { allowed: only(250), want: '250', apply };
    }
    // At the limit smtp-server answers 452 4.5.3 before it looks at the address (documented 4xx).
    if (full) return { allowed: (reply) => isRefusal(reply) || tooMany(reply), want: '5xx or 452 4.5.3', apply };
    return { ...REFUSE, apply };
  });
}

function validRcpt(rng: Rng): Cmd {
  const n = rng.int(60);
  const [line, address] = rng.pick([
    [`RCPT TO:<r${n}@example.org>`, `r${n}@example.org`],
    [`RCPT TO:<R${n}@Example.ORG>`, `r${n}@example.org`],
    [`rcpt to:<r${n}+tag@sub.example.net>`, `r${n}+tag@sub.example.net`],
    [`RCPT TO:<@relay.example.com:r${n}@example.org>`, `r${n}@example.org`],
    [`RCPT TO:<first.last${n}@example.co.uk>`, `first.last${n}@example.co.uk`],
  ] as const);
  return rcptCommand('RCPT (valid)', line, address);
}

const BROKEN_RECIPIENTS: readonly (string | Buffer)[] = [
  'RCPT TO:<@@>',
  'RCPT TO:<>',
  'RCPT TO:<postmaster>',
  'RCPT TO:r@example.org',
  'RCPT TO:<r@example.org',
  'RCPT TO:',
  'RCPT',
  'RCPT FROM:<r@example.org>',
  'RCPT TO:<r@@example.org>',
  'RCPT TO:<r@example>',
  'RCPT TO:<r@[127.0.0.1]>',
  Buffer.from('RCPT TO:<r\x00@example.org>', 'latin1'),
  Buffer.from('RCPT TO:<r@example.org\x7f>', 'latin1'),
  `RCPT TO:<${'a'.repeat(65)}@example.org>`,
  'RCPT TO:<r@exa mple.org>',
  'RCPT TO:<r@example.org> ORCPT=rfc822;a@example.org ORCPT=rfc822;b@example.org',
  'RCPT TO:<.r@example.org>',
  'RCPT TO:<r@-example.org>',
];
const brokenRcpt = (rng: Rng): Cmd => rcptCommand('RCPT with a broken argument', rng.pick(BROKEN_RECIPIENTS), null);

const UNOFFERED_RCPT_PARAMETERS = ['RCPT TO:<r1@example.org> NOTIFY=SUCCESS', 'RCPT TO:<r1@example.org> ORCPT=rfc822;r1@example.org', 'RCPT TO:<r1@example.org> XYZZY=1'];
const unofferedRcptParameter = (rng: Rng): Cmd => rcptCommand('RCPT with a parameter of an extension not offered (RFC 5321: 555)', rng.pick(UNOFFERED_RCPT_PARAMETERS), 'r1@example.org', false);

const ODD_VERBS = [
  'EXPN staff',
  'ETRN example.org',
  'TURN',
  'ATRN',
  'BDAT 10 LAST',
  'LHLO client.example.com',
  'XEXCH50 1 2',
  'VERB',
  'ONEX',
  'SAML FROM:<a@example.com>',
  'SEND FROM:<a@example.com>',
  'SOML FROM:<a@example.com>',
  'WIZ',
  'WIZ secret',
  'SHELL',
  'KILL',
  'XCLIENT ADDR=10.0.0.1',
  'XFORWARD ADDR=10.0.0.1',
  'QUIT now please',
  'NOOP\tNOOP',
  'RSET extra',
  'DATA now',
];
/** Verbs named like smtp-server's enhanced-code contexts: the reply's enhanced code must still be 5.x.x. */
const CONTEXT_VERBS = ['DATA_OK', 'MAIL_FROM_OK', 'RCPT_TO_OK', 'AUTH_SUCCESS', 'TOO_MANY_RECIPIENTS', 'SYSTEM_ERROR', 'MAILBOX_FULL', 'NETWORK_ERROR'];

function unknownVerb(rng: Rng): Cmd {
  const roll = rng.next();
  if (roll < 0.45) {
    let verb = randomWord(rng);
    while (KNOWN_VERBS.has(verb)) verb = randomWord(rng);
    return cmd('unknown verb', rng.chance(0.5) ? `${verb} ${randomWord(rng, 0, 12)}` : verb, () => REFUSE);
  }
  if (roll < 0.8) {
    const line = rng.pick(ODD_VERBS);
    // "QUIT now please", "RSET extra", "NOOP<TAB>NOOP", "DATA now": extra arguments; a server may be lenient.
    if (/^(QUIT|RSET|NOOP|DATA)\b/.test(line)) return cmd('known verb with unexpected arguments', line, (s) => lenientArguments(line, s));
    return cmd('non-standard or unsupported verb', line, () => REFUSE);
  }
  if (roll < 0.93) return cmd('unknown verb named like an enhanced-code context', rng.pick(CONTEXT_VERBS), () => REFUSE);
  return cmd('HTTP request line', rng.pick(['GET / HTTP/1.1', 'POST /emails HTTP/1.0', 'OPTIONS / HTTP/1.1']), () => REFUSE);
}

/** RFC 5321 lets QUIT/RSET/NOOP tolerate arguments (NOOP's are ignored); DATA with one is a syntax error. */
function lenientArguments(line: string, s: ConnState): Expectation {
  if (line.startsWith('DATA')) {
    // smtp-server ignores DATA's argument: with recipients that is a 354 (and the fuzz sends a body then).
    return { allowed: (reply) => isRefusal(reply) || (reply.code === 354 && s.rcpts.size > 0), want: '5xx (or 354 with recipients)' };
  }
  if (line.startsWith('QUIT')) return { allowed: (reply) => reply.code === 221 || isRefusal(reply), want: '221 or 5xx' };
  return {
    allowed: (reply) => reply.code === 250 || isRefusal(reply),
    want: '250 or 5xx',
    apply: (state, reply) => {
      if (reply.code === 250 && line.startsWith('RSET')) resetTransaction(state);
    },
  };
}

function junkCommand(rng: Rng): Cmd {
  return cmd('line of random bytes', junkLine(rng, rng.weighted([[3, rng.range(0, 40)], [2, rng.range(40, 600)], [1, rng.range(600, 3000)]] as const)), () => REFUSE);
}

function simpleCommand(rng: Rng): Cmd {
  const make = rng.weighted<(r: Rng) => Cmd>([
    [6, validEhlo],
    [2, brokenEhlo],
    [1, randomEhlo],
    [3, () => cmd('NOOP', 'NOOP', () => ({ allowed: only(250), want: '250' }))],
    [3, () => cmd('RSET', 'RSET', () => ({ allowed: only(250), want: '250', apply: resetTransaction }))],
    [1, () => cmd('HELP', 'HELP', () => ({ allowed: only(214), want: '214' }))],
    [1, () => cmd('VRFY with an argument', 'VRFY someone@example.org', () => ({ allowed: (reply) => reply.code >= 250 && reply.code <= 252, want: '250/251/252' }))],
    [1, () => cmd('VRFY without an argument', 'VRFY', () => REFUSE)],
    [6, validMail],
    [5, brokenMail],
    [2, unofferedMailParameter],
    [1, lenientMail],
    [7, validRcpt],
    [5, brokenRcpt],
    [2, unofferedRcptParameter],
    [5, unknownVerb],
    [4, junkCommand],
  ]);
  return make(rng);
}

// ---------------------------------------------------------------------------------------------
// Messages for DATA

type BodyKind = 'valid' | 'malformed' | 'either';
interface Body {
  name: string;
  kind: BodyKind;
  /** The message as the client means it (dot-stuffed when sent). */
  bytes: Buffer;
}

const latin1 = (text: string) => Buffer.from(text, 'latin1');

function standardMessage(tag: string, eol = '\r\n', extraHeaders: string[] = [], body = 'Hello from the fuzz test.'): Buffer {
  return utf8([`From: Fuzz <fuzz@example.com>`, `To: r1@example.org`, `Subject: fuzz ${tag}`, ...extraHeaders, '', body].join(eol) + eol);
}

function bodyLines(rng: Rng, maxLine: number, count: number, noNul: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(randomBytes(rng, rng.range(0, maxLine), { noLineEnds: true, noNul }));
    parts.push(latin1(rng.chance(0.8) ? '\r\n' : '\n'));
  }
  return Buffer.concat(parts);
}

const BODIES: readonly (readonly [number, BodyKind, string, (rng: Rng, tag: string) => Buffer])[] = [
  // Valid messages: 250 2.0.0 Ok: queued as <id>.
  [8, 'valid', 'plain message', (_rng, tag) => standardMessage(tag)],
  [3, 'valid', 'bare LF line ends', (_rng, tag) => standardMessage(tag, '\n', [], 'line one\nline two')],
  [2, 'valid', 'mixed line ends', (_rng, tag) => utf8(`From: fuzz@example.com\nTo: r1@example.org\r\nSubject: mixed ${tag}\n\r\nbody\nmore\r\n`)],
  [2, 'valid', 'UTF-8 header and body (RFC 6532)', (_rng, tag) => standardMessage(`${tag} Grüße 😀`, '\r\n', ['Content-Type: text/plain; charset=utf-8'], 'Grüße, 中文 ✓')],
  [2, 'valid', 'encoded-word subject', (_rng, tag) => utf8(`From: fuzz@example.com\r\nSubject: =?UTF-8?B?${Buffer.from(`Grüße ${tag}`).toString('base64')}?=\r\n\r\nbody\r\n`)],
  [2, 'valid', 'lines of exactly 998 octets', (_rng, tag) => standardMessage(tag, '\r\n', [`X-Long: ${'b'.repeat(998 - 8)}`], 'a'.repeat(998))],
  [2, 'valid', 'lines starting with dots', (_rng, tag) => standardMessage(tag, '\r\n', [], '.\r\n..\r\n. dot\r\n.x\r\n...')],
  [2, 'valid', 'folded header', (_rng, tag) => utf8(`From: fuzz@example.com\r\nSubject: part one ${tag}\r\n part two\r\n\tpart three\r\n\r\nbody\r\n`)],
  [1, 'valid', 'Cc and Bcc', (_rng, tag) => standardMessage(tag, '\r\n', ['Cc: Someone <c@example.net>, d@example.net', 'Bcc: secret@example.net'])],
  [1, 'valid', 'Mailroom headers', (_rng, tag) => standardMessage(tag, '\r\n', ['X-Mailroom-Tags: fuzz, smtp', `X-Mailroom-External-Id: ext-${tag}`, 'X-Mailroom-Track: none'])],
  [1, 'valid', 'header block only', (_rng, tag) => utf8(`From: fuzz@example.com\r\nSubject: ${tag}\r\n`)],
  [1, 'valid', 'empty body', () => utf8('From: fuzz@example.com\r\n\r\n')],
  [1, 'valid', 'Message-ID and Date given', (_rng, tag) => standardMessage(tag, '\r\n', [`Message-ID: <${tag}@fuzz.example.com>`, 'Date: Mon, 1 Jan 2024 00:00:00 +0000'])],
  [2, 'valid', '8-bit body (no NUL)', (rng, tag) => Buffer.concat([standardMessage(tag, '\r\n', [], ''), bodyLines(rng, 200, rng.range(1, 20), true)])],
  [2, 'valid', 'random bytes in an X- header value (no NUL)', (rng, tag) => Buffer.concat([latin1(`From: fuzz@example.com\r\nSubject: ${tag}\r\nX-Fuzz: `), randomBytes(rng, rng.range(0, 300), { noLineEnds: true, noNul: true }), latin1('\r\n\r\nbody\r\n')])],
  [1, 'valid', 'From with a quoted display name', (_rng, tag) => utf8(`From: "Fuzz, the Tester" <fuzz@example.com>\r\nSubject: ${tag}\r\n\r\nbody\r\n`)],
  // Malformed messages: refused with a 5xx, never 250 and never a 4xx.
  [4, 'malformed', 'no From', (_rng, tag) => utf8(`To: r1@example.org\r\nSubject: ${tag}\r\n\r\nbody\r\n`)],
  [2, 'malformed', 'two From fields', (_rng, tag) => utf8(`From: a@example.com\r\nFrom: b@example.com\r\nSubject: ${tag}\r\n\r\nbody\r\n`)],
  [1, 'malformed', 'From is not an address', () => utf8('From: nobody\r\n\r\nbody\r\n')],
  [1, 'malformed', 'From is a group', () => utf8('From: team: a@example.com, b@example.com;\r\n\r\nbody\r\n')],
  [1, 'malformed', 'From has two addresses', () => utf8('From: a@example.com, b@example.com\r\n\r\nbody\r\n')],
  [3, 'malformed', 'header line over 998 octets', (rng) => utf8(`From: fuzz@example.com\r\nSubject: ${'x'.repeat(rng.range(991, 5000))}\r\n\r\nbody\r\n`)],
  [2, 'malformed', 'body line over 998 octets', (rng, tag) => standardMessage(tag, '\r\n', [], 'y'.repeat(rng.range(999, 3000)))],
  [1, 'malformed', 'body line of 100 KB', (_rng, tag) => standardMessage(tag, '\r\n', [], 'z'.repeat(100_000))],
  [3, 'malformed', 'header line without a colon', (_rng, tag) => utf8(`From: fuzz@example.com\r\nSubject ${tag}\r\n\r\nbody\r\n`)],
  [2, 'malformed', 'starts with a folded line', () => utf8(' folded\r\nFrom: fuzz@example.com\r\n\r\nbody\r\n')],
  [1, 'malformed', 'space in a field name', () => utf8('From: fuzz@example.com\r\nBad Name: x\r\n\r\nbody\r\n')],
  [1, 'malformed', 'empty field name', () => utf8('From: fuzz@example.com\r\n: value\r\n\r\nbody\r\n')],
  [2, 'malformed', 'empty message', () => Buffer.alloc(0)],
  [1, 'malformed', 'blank line first', () => utf8('\r\nFrom: fuzz@example.com\r\n\r\nbody\r\n')],
  [2, 'malformed', 'NUL in Subject', (_rng, tag) => latin1(`From: fuzz@example.com\r\nSubject: a\x00b ${tag}\r\n\r\nbody\r\n`)],
  [2, 'malformed', 'NUL in Subject as an encoded word', () => utf8('From: fuzz@example.com\r\nSubject: =?UTF-8?Q?a=00b?=\r\n\r\nbody\r\n')],
  [1, 'malformed', 'NUL in X-Mailroom-Client-Id as an encoded word', () => utf8('From: fuzz@example.com\r\nX-Mailroom-Client-Id: =?UTF-8?Q?a=00b?=\r\n\r\nbody\r\n')],
  [1, 'malformed', 'NUL in From', () => latin1('From: fu\x00zz@example.com\r\n\r\nbody\r\n')],
  [1, 'malformed', 'unknown X-Mailroom header', () => utf8('From: fuzz@example.com\r\nX-Mailroom-Nonsense: 1\r\n\r\nbody\r\n')],
  [1, 'malformed', 'bad X-Mailroom-Track', () => utf8('From: fuzz@example.com\r\nX-Mailroom-Track: sometimes\r\n\r\nbody\r\n')],
  [1, 'malformed', 'X-Mailroom-External-Id twice', () => utf8('From: fuzz@example.com\r\nX-Mailroom-External-Id: a\r\nX-Mailroom-External-Id: b\r\n\r\nbody\r\n')],
  [1, 'malformed', 'X-Mailroom-Tags with a tag too long', () => utf8(`From: fuzz@example.com\r\nX-Mailroom-Tags: ok, ${'t'.repeat(65)}\r\n\r\nbody\r\n`)],
  [0.15, 'malformed', 'over 10 MB', (_rng, tag) => Buffer.concat([standardMessage(tag, '\r\n', [], ''), Buffer.alloc(MAX_MESSAGE + 1024, 'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789\r\n')])],
  // Random: accepted or refused, never a 4xx.
  [3, 'either', 'random bytes', (rng) => bodyLines(rng, 300, rng.range(0, 12), false)],
  [1, 'malformed', 'NUL in the body', (_rng, tag) => standardMessage(tag, '\r\n', [], 'before\x00after')],
  [2, 'either', 'random header block', (rng) => {
    const lines: Buffer[] = [];
    if (rng.chance(0.5)) lines.push(latin1('From: fuzz@example.com\r\n'));
    for (let i = rng.range(1, 6); i > 0; i--) lines.push(latin1(`X-${randomWord(rng, 1, 8)}: `), randomBytes(rng, rng.range(0, 200), { noLineEnds: true }), latin1(rng.chance(0.8) ? '\r\n' : '\n'));
    lines.push(latin1('\r\nbody\r\n'));
    return Buffer.concat(lines);
  }],
];

function pickBody(rng: Rng, tag: string, index?: number): Body {
  const entry = index === undefined ? rng.weighted(BODIES.map((item) => [item[0], item] as const)) : BODIES[index % BODIES.length]!;
  const [, kind, name, make] = entry;
  return { name, kind, bytes: make(rng, tag) };
}

/** Dot-stuffing as RFC 5321 4.5.2 asks, for CRLF and bare-LF lines alike; the terminator is always CRLF.CRLF. */
function dataPayload(message: Buffer): Buffer {
  const text = message.toString('latin1').replace(/(^|\n)\./g, '$1..');
  const ending = text === '' || text.endsWith('\r\n') ? '' : '\r\n';
  return Buffer.from(`${text}${ending}.\r\n`, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// The fuzzer

interface Violation {
  rule: string;
  sequence: number;
  detail: string;
  transcript: string[];
}

class FuzzConn {
  readonly log: string[] = [];
  closed = false;
  /** The sequence now running on this connection (violations name it). */
  sequence = -1;
  constructor(
    readonly client: SmtpClient,
    readonly state: ConnState,
    readonly name: string,
  ) {}
  note(entry: string): void {
    this.log.push(entry);
    if (this.log.length > 60) this.log.splice(0, this.log.length - 60);
  }
  send(data: Buffer): void {
    this.note(`C: ${show(data)}`);
    this.client.write(data);
  }
  destroy(): void {
    this.closed = true;
    this.client.close();
  }
  get usable(): boolean {
    return !this.closed && !this.client.closed;
  }
}

class Fuzzer {
  readonly violations: Violation[] = [];
  readonly accepted: string[] = [];
  readonly actions = new Map<string, number>();
  readonly bodies = new Map<string, number>();
  readonly codes = new Map<number, number>();
  replies = 0;
  sequencesRun = 0;
  connections = 0;

  constructor(
    readonly submission: string,
    readonly smtps: string,
    private readonly alive: () => boolean,
  ) {}

  violation(source: FuzzConn | string[] | null, rule: string, detail: string, sequence = source instanceof FuzzConn ? source.sequence : -1): void {
    const transcript = source === null ? [] : Array.isArray(source) ? [...source] : [...source.log];
    this.violations.push({ rule, sequence, detail, transcript });
  }

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  async open(tls: boolean, ip: boolean, sequence: number): Promise<FuzzConn | null> {
    this.connections++;
    const address = tls ? this.smtps : this.submission;
    let opened: Awaited<ReturnType<typeof SmtpClient.connect>>;
    try {
      opened = await SmtpClient.connect(address, { tls });
    } catch (error) {
      this.violation(null, 'could not connect (or no greeting)', `${address}${tls ? ' (implicit TLS)' : ''}: ${(error as Error).message}`, sequence);
      return null;
    }
    const conn = new FuzzConn(opened.client, newState(tls, ip), `${tls ? 'smtps' : 'smtp'}#${this.connections}`);
    conn.sequence = sequence;
    conn.note(`(connected to ${tls ? 'the implicit-TLS port' : 'the STARTTLS port'}${ip ? '' : ', no IP credential yet'})`);
    this.check(conn, 'greeting', '', opened.greeting, { allowed: only(220), want: '220' });
    if (opened.greeting.code !== 220) conn.destroy();
    return conn;
  }

  /** Checks one reply: its form, its enhanced code, what the model wants; then updates the model. */
  check(conn: FuzzConn, name: string, detail: string, reply: Reply, expectation: Expectation): void {
    this.replies++;
    this.codes.set(reply.code, (this.codes.get(reply.code) ?? 0) + 1);
    conn.note(`S: ${reply.text}`);
    const lines = reply.text.split('\n');
    const wellFormed =
      Number.isInteger(reply.code) &&
      reply.code >= 200 &&
      reply.code <= 599 &&
      lines.every((line, index) => {
        const match = /^(\d{3})([ -]|$)/.exec(line);
        if (!match || Number(match[1]) !== reply.code) return false;
        return index < lines.length - 1 ? match[2] === '-' : match[2] !== '-';
      });
    if (!wellFormed) this.violation(conn, 'reply without a proper 3-digit code', `${name}: ${show(reply.text)}`);
    else if (reply.enhanced && reply.enhanced[0] !== String(reply.code)[0]) {
      this.violation(conn, 'enhanced status code of another class than the reply code (RFC 3463)', `${name}: ${show(reply.text)}`);
    }
    if (!expectation.allowed(reply)) this.violation(conn, `unexpected reply to: ${name}`, `${detail ? `${detail} -> ` : ''}${show(reply.text, 300)}, wanted ${expectation.want}`);
    const extra = expectation.apply?.(conn.state, reply);
    if (extra) this.violation(conn, extra, show(reply.text, 300));
  }

  /** Reads and judges one reply; after 421 or 221 the server must close. Null when the connection is gone. */
  async receive(conn: FuzzConn, name: string, detail: string, expectation: Expectation, context = ''): Promise<Reply | null> {
    if (context) detail = `${detail} (${context})`;
    let reply: Reply;
    try {
      reply = await conn.client.read(READ_MS);
    } catch (error) {
      const message = (error as Error).message;
      if (conn.client.closed) this.violation(conn, 'connection closed without a reply', `${name}: ${detail}`);
      else this.violation(conn, `no reply within ${READ_MS} ms (hang)`, `${name}: ${detail} (${message})`);
      conn.destroy();
      return null;
    }
    this.check(conn, name, detail, reply, expectation);
    if (reply.code === 421 || reply.code === 221) await this.expectClose(conn, `after ${reply.code} to ${name}`);
    return reply;
  }

  async expectClose(conn: FuzzConn, what: string): Promise<void> {
    const closed = await conn.client.waitClosed(CLOSE_MS);
    if (!closed) this.violation(conn, `connection not closed within ${CLOSE_MS} ms ${what.replace(/ to .*/, '')}`, what);
    conn.destroy();
  }

  async exchange(conn: FuzzConn, command: Cmd): Promise<Reply | null> {
    if (!conn.usable) return null;
    const expectation = command.expect(conn.state);
    conn.send(Buffer.concat([command.line, latin1('\r\n')]));
    const reply = await this.receive(conn, command.name, show(command.line), expectation);
    // A command the server took as DATA ("DATA now"): finish the message so the connection stays in step.
    if (reply?.code === 354) await this.finishData(conn, { name: 'empty message', kind: 'malformed', bytes: Buffer.alloc(0) }, `after 354 to ${command.name}`);
    return reply;
  }

  /**
   * Commands written at once (PIPELINING); each reply judged, in order, against the model as it then
   * is. A DATA-like command may only end a pipelined group (RFC 2920 3.1), so none is pipelined here.
   */
  async burst(conn: FuzzConn, group: Cmd[]): Promise<void> {
    const commands = group.filter((command) => verbOf(command.line) !== 'DATA');
    if (commands.length === 0) return;
    conn.send(Buffer.concat(commands.flatMap((command) => [command.line, latin1(rngLineEnd(command))])));
    for (const command of commands) {
      if (!conn.usable) return;
      const reply = await this.receive(conn, command.name, show(command.line), command.expect(conn.state), 'pipelined');
      if (!reply) return;
      if (reply.code === 354) {
        // Not reached (no DATA is pipelined); if it were, end the message and stop reading this group.
        conn.send(latin1('\r\n.\r\n'));
        await this.receive(conn, 'end of DATA after an unexpected 354', 'CRLF.CRLF', { ...EITHER, apply: resetTransaction });
        return;
      }
    }
  }

  async noopProbe(conn: FuzzConn, when: string): Promise<void> {
    if (!conn.usable) return;
    conn.send(latin1('NOOP\r\n'));
    await this.receive(conn, `NOOP ${when}`, 'NOOP', { allowed: only(250), want: '250 (the connection is still usable)' });
  }

  // --- actions --------------------------------------------------------------------------------

  async ensureEhlo(conn: FuzzConn, rng: Rng): Promise<void> {
    if (conn.usable && !conn.state.ehlo) await this.exchange(conn, validEhlo(rng));
  }

  async ensureTransaction(conn: FuzzConn, rng: Rng): Promise<void> {
    await this.ensureEhlo(conn, rng);
    if (conn.usable && !conn.state.mail) await this.exchange(conn, validMail(rng));
    if (conn.usable && conn.state.rcpts.size === 0) await this.exchange(conn, validRcpt(rng));
  }

  async data(conn: FuzzConn, rng: Rng, body: Body): Promise<void> {
    this.count(this.bodies, `${body.kind}: ${body.name}`);
    const s = conn.state;
    const expectation: Expectation = s.ehlo && s.rcpts.size > 0 ? { allowed: only(354), want: '354' } : BAD_SEQUENCE;
    conn.send(latin1('DATA\r\n'));
    const start = await this.receive(conn, 'DATA', 'DATA', expectation);
    if (!start || start.code !== 354) return;
    await this.finishData(conn, body, `message: ${body.name}`, rng);
  }

  async finishData(conn: FuzzConn, body: Body, what: string, rng?: Rng, trailing?: Cmd): Promise<void> {
    const payload = dataPayload(body.bytes);
    // Random chunking, so that CRLF.CRLF and dot-stuffing straddle TCP segments.
    const cuts = rng && payload.length < 200_000 ? rng.range(0, 4) : 0;
    let at = 0;
    for (let i = 0; i < cuts && at < payload.length; i++) {
      const next = at + rng!.range(1, Math.max(1, payload.length - at));
      conn.send(payload.subarray(at, next));
      at = next;
      await sleep(rng!.range(0, 3));
    }
    const rest = payload.subarray(at);
    conn.send(trailing ? Buffer.concat([rest, trailing.line, latin1('\r\n')]) : rest);
    const end = await this.receive(conn, `end of DATA: ${body.kind} message (${body.name})`, what, dataEndExpectation(body, this.accepted));
    if (end && trailing && conn.usable) await this.receive(conn, trailing.name, show(trailing.line), trailing.expect(conn.state), 'pipelined after the message');
  }

  async auth(conn: FuzzConn, rng: Rng): Promise<void> {
    const s = conn.state;
    const plainGood = `AUTH PLAIN ${plainToken('apikey', TEST_KEY)}`;
    const garbage = () => junkLine(rng, rng.range(1, 200));
    const b64Junk = () => utf8(randomBytes(rng, rng.range(1, 60)).toString('base64'));
    if (!s.tls || s.authed || !s.ehlo) {
      // Before TLS AUTH is not offered; after a login no second one; before EHLO none: a single 5xx, no 334.
      const line = rng.pick([plainGood, 'AUTH PLAIN', 'AUTH LOGIN', `AUTH PLAIN ${plainToken('apikey', 'wrong')}`, 'AUTH CRAM-MD5', 'AUTH']);
      const why = !s.tls ? 'before TLS' : s.authed ? 'after a login' : 'before EHLO';
      await this.exchange(conn, cmd(`AUTH ${why}`, line, () => REFUSE));
      return;
    }
    const login = (reply: Reply | null) => {
      if (reply?.code === 235) s.authed = true;
    };
    const variant = rng.int(10);
    switch (variant) {
      case 0:
        // A token that JavaScript's trim() empties (U+FEFF, U+00A0, ...) is no token to
        // smtp-server, which then asks for it (334), as for a bare AUTH PLAIN: keep one visible byte.
        await this.exchange(conn, cmd('AUTH PLAIN with a non-base64 token', Buffer.concat([utf8('AUTH PLAIN '), garbage(), utf8('!')]), () => REFUSE));
        return;
      case 1: {
        const first = await this.exchange(conn, cmd('AUTH PLAIN without a token', 'AUTH PLAIN', () => ({ allowed: only(334), want: '334' })));
        if (first?.code !== 334) return;
        const line = rng.chance(0.3) ? utf8('*') : rng.chance(0.5) ? garbage() : b64Junk();
        await this.exchange(conn, cmd('AUTH PLAIN continuation with garbage', line, () => REFUSE));
        return;
      }
      case 2:
      case 3: {
        const start = rng.chance(0.5) ? 'AUTH LOGIN' : `AUTH LOGIN ${randomBytes(rng, rng.range(1, 30), { noNul: true }).toString('base64')}`;
        const first = await this.exchange(
          conn,
          start === 'AUTH LOGIN'
            ? cmd('AUTH LOGIN', start, () => ({ allowed: only(334), want: '334' }))
            : cmd('AUTH LOGIN with a random initial response', start, () => ({ allowed: (reply) => reply.code === 334 || isRefusal(reply), want: '334 or 5xx' })),
        );
        if (first?.code !== 334) return;
        const user = await this.exchange(conn, cmd('AUTH LOGIN continuation with garbage', rng.chance(0.5) ? garbage() : b64Junk(), () => ({ allowed: (reply) => reply.code === 334 || isRefusal(reply), want: '334 or 5xx' })));
        if (user?.code !== 334) return;
        await this.exchange(conn, cmd('AUTH LOGIN password garbage', rng.chance(0.5) ? garbage() : b64Junk(), () => REFUSE));
        return;
      }
      case 4:
        await this.exchange(conn, cmd('AUTH with an unsupported mechanism', rng.pick(['AUTH CRAM-MD5', 'AUTH XOAUTH2 dG9rZW4=', 'AUTH', 'AUTH FOO bar', 'AUTH PLAIN a b', 'AUTH LOGIN a b', 'AUTH GSSAPI', 'AUTH ANONYMOUS']), () => REFUSE));
        return;
      case 5:
        await this.exchange(conn, cmd('AUTH PLAIN with a wrong API key', `AUTH PLAIN ${plainToken(rng.pick(['apikey', 'APIKEY', 'nobody', 'apikey ']), rng.pick(['wrong', TEST_KEY.slice(0, -1), `${TEST_KEY}x`, '']))}`, () => REFUSE));
        return;
      case 6:
        await this.exchange(conn, cmd('AUTH PLAIN with a token of random bytes', `AUTH PLAIN ${randomBytes(rng, rng.range(1, 200)).toString('base64')}`, () => REFUSE));
        return;
      case 7: {
        const first = await this.exchange(conn, cmd('AUTH LOGIN (valid)', 'AUTH LOGIN', () => ({ allowed: only(334), want: '334' })));
        if (first?.code !== 334) return;
        const user = await this.exchange(conn, cmd('AUTH LOGIN username', Buffer.from('apikey').toString('base64'), () => ({ allowed: only(334), want: '334' })));
        if (user?.code !== 334) return;
        // 535 too: after enough failed logins from loopback the address is locked out (MAILROOM_SMTP_AUTH_FAILURES).
        login(await this.exchange(conn, cmd('AUTH LOGIN password (valid API key)', Buffer.from(TEST_KEY).toString('base64'), () => ({ allowed: only(235, 535), want: '235 (or 535 when locked out)' }))));
        return;
      }
      default:
        login(await this.exchange(conn, cmd('AUTH PLAIN (valid API key)', plainGood, () => ({ allowed: only(235, 535), want: '235 (or 535 when locked out)' }))));
    }
  }

  async starttls(conn: FuzzConn, rng: Rng): Promise<void> {
    const s = conn.state;
    if (s.tls) {
      await this.exchange(conn, cmd('STARTTLS while TLS is active', rng.pick(['STARTTLS', 'starttls', 'STARTTLS now']), () => REFUSE));
      return;
    }
    if (rng.chance(0.2)) {
      await this.exchange(conn, cmd('STARTTLS with an argument', rng.pick(['STARTTLS now', 'STARTTLS x y']), () => REFUSE));
      return;
    }
    conn.note('C: "STARTTLS" (then the TLS handshake)');
    let reply: Reply;
    try {
      reply = await conn.client.startTls();
    } catch (error) {
      this.violation(conn, 'STARTTLS: no 220 or the TLS handshake failed', (error as Error).message);
      conn.destroy();
      return;
    }
    this.check(conn, 'STARTTLS', 'STARTTLS', reply, { allowed: only(220), want: '220' });
    if (reply.code !== 220) {
      if (reply.code === 421) await this.expectClose(conn, 'after 421 to STARTTLS');
      return;
    }
    // RFC 3207 4.2: everything known before TLS is forgotten.
    s.tls = true;
    s.ehlo = false;
    s.authed = false;
    resetTransaction(s);
  }

  async starttlsThenGarbage(conn: FuzzConn, rng: Rng): Promise<void> {
    if (conn.state.tls) return this.starttls(conn, rng);
    conn.send(latin1('STARTTLS\r\n'));
    const reply = await this.receive(conn, 'STARTTLS (then plaintext instead of a handshake)', 'STARTTLS', { allowed: only(220), want: '220' });
    if (!reply || reply.code !== 220) return;
    // At least a TLS record header's worth (5 octets), or the server rightly waits for the rest of the record.
    conn.send(Buffer.concat([latin1(rng.pick(['EHLO client.example.com\r\n', 'MAIL FROM:<a@example.com>\r\n', '\r\n'])), randomBytes(rng, rng.range(8, 300))]));
    await this.expectClose(conn, 'after plaintext where the TLS handshake belongs');
  }

  async longLine(conn: FuzzConn, rng: Rng): Promise<void> {
    const variant = rng.int(9);
    const fill = (n: number, char = 'y') => char.repeat(n);
    switch (variant) {
      case 0:
        // At the limit: an ordinary unknown command.
        await this.exchange(conn, cmd(`unknown command of exactly ${MAX_COMMAND} octets`, `X${fill(MAX_COMMAND - 1)}`, () => REFUSE));
        return;
      case 1:
        await this.exchange(conn, cmd(`command line of ${MAX_COMMAND + 1} octets`, `X${fill(MAX_COMMAND)}`, () => REFUSE));
        return;
      case 2:
        await this.exchange(conn, cmd('command line of 5 KB', rng.chance(0.5) ? `NOOP ${fill(5 * 1024)}` : `MAIL FROM:<${fill(5 * 1024, 'a')}@example.com>`, () => REFUSE));
        return;
      case 3:
        await this.exchange(conn, cmd('command line of 100 KB', junkLine(rng, 100 * 1024), () => REFUSE));
        return;
      case 4: {
        // 1 MB and no line end at all.
        const expectation = REFUSE;
        conn.send(Buffer.alloc(1024 * 1024, rng.pick(['a', ' ', '\x00', '\xff'])));
        await this.receive(conn, '1 MB without a line end', '1 MB', expectation);
        return;
      }
      case 5: {
        // Dribbled in: no single chunk is long, the line is.
        for (let i = 0; i < 3; i++) {
          conn.send(latin1(fill(2048, 'd')));
          await sleep(rng.range(1, 20));
        }
        await this.receive(conn, 'line of 6 KB in 2 KB pieces', '3 x 2048 octets, no line end', REFUSE);
        return;
      }
      case 6:
        await this.exchange(conn, cmd('RCPT of 5 KB', `RCPT TO:<${fill(5000, 'r')}@example.org>`, () => REFUSE));
        return;
      case 7:
        await this.exchange(conn, cmd('AUTH PLAIN with a 6 KB token', `AUTH PLAIN ${fill(6000, 'A')}`, () => REFUSE));
        return;
      default:
        await this.exchange(conn, cmd('EHLO of 8 KB', `EHLO ${fill(8 * 1024, 'h')}`, () => REFUSE));
    }
  }

  async rawChunk(conn: FuzzConn, rng: Rng): Promise<void> {
    // Several junk lines in one write, with CRLF and bare-LF line ends: one reply per line.
    const lines: Cmd[] = [];
    for (let i = rng.range(2, 6); i > 0; i--) lines.push(cmd('line of random bytes (several in one write)', junkLine(rng, rng.range(0, 120)), () => REFUSE));
    await this.burst(conn, lines);
  }

  async tooManyRecipients(conn: FuzzConn, rng: Rng): Promise<void> {
    await this.ensureTransaction(conn, rng);
    const commands: Cmd[] = [];
    const base = rng.int(1000);
    for (let i = 0; i < MAX_RECIPIENTS + rng.range(1, 5); i++) commands.push(rcptCommand('RCPT (valid, many)', `RCPT TO:<many${base + i}@example.org>`, `many${base + i}@example.org`));
    await this.burst(conn, commands);
  }

  async wrongOrder(conn: FuzzConn, rng: Rng): Promise<void> {
    const variant = rng.int(5);
    const noop = cmd('RSET', 'RSET', () => ({ allowed: only(250), want: '250', apply: resetTransaction }));
    if (variant === 0) {
      // RCPT before MAIL
      await this.ensureEhlo(conn, rng);
      await this.exchange(conn, noop);
      await this.exchange(conn, validRcpt(rng));
    } else if (variant === 1) {
      // DATA before RCPT
      await this.ensureEhlo(conn, rng);
      await this.exchange(conn, noop);
      await this.exchange(conn, validMail(rng));
      await this.data(conn, rng, pickBody(rng, 'order'));
    } else if (variant === 2) {
      // MAIL twice
      await this.ensureEhlo(conn, rng);
      await this.exchange(conn, validMail(rng));
      await this.exchange(conn, validMail(rng));
    } else if (variant === 3) {
      // DATA with nothing before it
      await this.exchange(conn, noop);
      await this.data(conn, rng, pickBody(rng, 'order'));
    } else {
      // DATA twice: the second after the message is over
      await this.ensureTransaction(conn, rng);
      await this.data(conn, rng, pickBody(rng, 'order'));
      await this.data(conn, rng, pickBody(rng, 'order'));
    }
  }

  async dataDisconnect(conn: FuzzConn, rng: Rng): Promise<void> {
    await this.ensureTransaction(conn, rng);
    if (!conn.usable || conn.state.rcpts.size === 0) return;
    conn.send(latin1('DATA\r\n'));
    const start = await this.receive(conn, 'DATA', 'DATA (the client will vanish mid-message)', { allowed: only(354), want: '354' });
    if (start?.code !== 354) return;
    const payload = dataPayload(pickBody(rng, 'gone').bytes);
    conn.send(payload.subarray(0, rng.range(0, Math.max(0, payload.length - 6))));
    await sleep(rng.range(0, 10));
    conn.note('(client closes the connection in the middle of DATA)');
    conn.destroy();
  }

  /** Sessions below the line-level client: early talkers, TLS to the plain port, instant disconnects. */
  async rawSession(rng: Rng, sequence: number): Promise<void> {
    const variant = rng.int(6);
    const [host, port] = splitAddress(variant === 2 ? this.smtps : this.submission);
    const received: string[] = [];
    const names = ['early talker', 'connect and reset', 'plaintext to the implicit-TLS port', 'TLS handshake on the STARTTLS port', 'half a command then vanish', 'half-close after a command without line end'];
    const name = names[variant]!;
    const closed = await new Promise<boolean>((resolve) => {
      let socket: Socket;
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, CLOSE_MS);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      if (variant === 3) {
        socket = tlsConnect({ host, port, rejectUnauthorized: false });
      } else {
        socket = netConnect({ host, port });
      }
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => received.push(chunk));
      socket.on('error', () => {});
      socket.on('close', done);
      socket.once('connect', () => {
        if (variant === 0) socket.write('EHLO early.example.com\r\nQUIT\r\n');
        else if (variant === 1) socket.resetAndDestroy();
        else if (variant === 2) socket.write(Buffer.concat([latin1('EHLO plain.example.com\r\n'), randomBytes(rng, rng.range(0, 200))]));
        else if (variant === 4) setTimeout(() => { socket.write('MAIL FRO'); setTimeout(() => socket.destroy(), rng.range(0, 20)); }, 150);
        else if (variant === 5) setTimeout(() => socket.end('NOOP'), 150);
      });
    });
    const text = received.join('');
    const conn = [`(raw session: ${name})`, `S: ${show(text, 500)}`];
    const lines = text.split('\r\n').filter((line) => line !== '');
    for (const line of lines) {
      this.replies++;
      if (!/^[2-5]\d\d([ -]|$)/.test(line)) this.violation(conn, 'reply without a proper 3-digit code', `${name}: ${show(line)}`, sequence);
    }
    if (variant === 0) {
      // The command came before the greeting: 421 "You talk too soon" and a close; on a slow machine
      // the greeting may win the race, and then EHLO and QUIT are answered in turn.
      const first = lines[0] ?? '';
      if (!/^(421|220)[ -]/.test(first)) this.violation(conn, 'early talker: wanted 421 (or the greeting)', show(text, 300), sequence);
    }
    if (variant === 3 && text !== '' && !/^220 /.test(text)) this.violation(conn, 'TLS on the STARTTLS port: wanted nothing but the greeting', show(text, 300), sequence);
    if (!closed && variant !== 3) this.violation(conn, `raw session not closed within ${CLOSE_MS} ms`, name, sequence);
  }

  // --- sequences ------------------------------------------------------------------------------

  private static readonly ACTIONS: readonly (readonly [number, string])[] = [
    [22, 'simple'],
    [8, 'burst'],
    [10, 'transaction'],
    [16, 'data'],
    [3, 'data-pipelined'],
    [3, 'data-then-command'],
    [2, 'data-disconnect'],
    [8, 'auth'],
    [5, 'starttls'],
    [1, 'starttls-garbage'],
    [3, 'long-line'],
    [6, 'junk'],
    [3, 'raw-chunk'],
    [1, 'too-many-recipients'],
    [4, 'wrong-order'],
    [2, 'many-unknown'],
    [2, 'quit'],
    [1.5, 'raw-session'],
  ];
  static readonly ACTION_NAMES = Fuzzer.ACTIONS.map(([, name]) => name);

  async act(conn: FuzzConn | null, action: string, rng: Rng, index: number): Promise<void> {
    this.count(this.actions, action);
    if (action === 'raw-session') return this.rawSession(rng, index);
    if (!conn || !conn.usable) return;
    switch (action) {
      case 'simple':
        await this.exchange(conn, simpleCommand(rng));
        return;
      case 'burst': {
        const commands: Cmd[] = [];
        for (let i = rng.range(2, 10); i > 0; i--) commands.push(simpleCommand(rng));
        if (rng.chance(0.15)) commands.push(cmd('QUIT', 'QUIT', () => ({ allowed: only(221), want: '221' })));
        await this.burst(conn, commands);
        return;
      }
      case 'transaction':
        await this.ensureEhlo(conn, rng);
        if (rng.chance(0.8)) await this.exchange(conn, validMail(rng));
        for (let i = rng.range(1, 3); i > 0 && conn.usable; i--) await this.exchange(conn, validRcpt(rng));
        return;
      case 'data':
        if (rng.chance(0.85)) await this.ensureTransaction(conn, rng);
        if (conn.usable) await this.data(conn, rng, pickBody(rng, `s${index}`));
        return;
      case 'data-pipelined': {
        await this.ensureEhlo(conn, rng);
        if (!conn.usable) return;
        const commands = [rng.chance(0.8) ? validMail(rng) : brokenMail(rng), rng.chance(0.8) ? validRcpt(rng) : brokenRcpt(rng)];
        const body = pickBody(rng, `p${index}`);
        conn.send(Buffer.concat([...commands.flatMap((command) => [command.line, latin1('\r\n')]), latin1('DATA\r\n')]));
        for (const command of commands) {
          if (!conn.usable || !(await this.receive(conn, command.name, show(command.line), command.expect(conn.state), 'pipelined before DATA'))) return;
        }
        if (!conn.usable) return;
        this.count(this.bodies, `${body.kind}: ${body.name}`);
        const s = conn.state;
        const start = await this.receive(conn, 'DATA', 'DATA', s.ehlo && s.rcpts.size > 0 ? { allowed: only(354), want: '354' } : BAD_SEQUENCE, 'pipelined');
        if (start?.code === 354) await this.finishData(conn, body, `message: ${body.name}`, rng);
        return;
      }
      case 'data-then-command': {
        await this.ensureTransaction(conn, rng);
        if (!conn.usable) return;
        const body = pickBody(rng, `t${index}`);
        this.count(this.bodies, `${body.kind}: ${body.name}`);
        const s = conn.state;
        conn.send(latin1('DATA\r\n'));
        const start = await this.receive(conn, 'DATA', 'DATA', s.ehlo && s.rcpts.size > 0 ? { allowed: only(354), want: '354' } : BAD_SEQUENCE);
        if (start?.code !== 354) return;
        await this.finishData(conn, body, `message: ${body.name}`, rng, rng.chance(0.5) ? cmd('NOOP', 'NOOP', () => ({ allowed: only(250), want: '250' })) : simpleCommand(rng));
        return;
      }
      case 'data-disconnect':
        return this.dataDisconnect(conn, rng);
      case 'auth':
        if (rng.chance(0.5) && !conn.state.tls) await this.starttls(conn, rng);
        if (conn.usable && rng.chance(0.7)) await this.ensureEhlo(conn, rng);
        if (conn.usable) await this.auth(conn, rng);
        return;
      case 'starttls':
        return this.starttls(conn, rng);
      case 'starttls-garbage':
        return this.starttlsThenGarbage(conn, rng);
      case 'long-line':
        return this.longLine(conn, rng);
      case 'junk':
        await this.exchange(conn, junkCommand(rng));
        return;
      case 'raw-chunk':
        return this.rawChunk(conn, rng);
      case 'too-many-recipients':
        return this.tooManyRecipients(conn, rng);
      case 'wrong-order':
        return this.wrongOrder(conn, rng);
      case 'many-unknown': {
        // smtp-server closes after 10 unrecognized commands: 5xx each, then 421 and a close.
        const commands: Cmd[] = [];
        for (let i = 0; i < 12; i++) commands.push(cmd('unknown verb (many)', `FUZZ${randomWord(rng, 1, 6)}`, () => REFUSE));
        await this.burst(conn, commands);
        if (conn.usable) this.violation(conn, 'still open after 12 unrecognized commands', 'wanted 421 and a close by the 10th');
        return;
      }
      case 'quit':
        await this.exchange(conn, cmd('QUIT', rng.pick(['QUIT', 'quit']), () => ({ allowed: only(221), want: '221' })));
        return;
    }
  }

  /**
   * One sequence: 2 to 14 actions on the lane's connection (kept from the previous sequence when it
   * survived, or a new one), then the NOOP probe. Forced: the catalogue pass, where sequence i runs
   * action i (and body i) after an EHLO, so that each is reached whatever the seed.
   */
  async runSequence(lane: { conn: FuzzConn | null }, index: number, ip: boolean, forced?: { action: string; body: number }): Promise<void> {
    if (!this.alive()) return;
    this.sequencesRun++;
    const rng = new Rng(seedFor(SEED, index));
    if (lane.conn && (!lane.conn.usable || forced || rng.chance(0.2))) {
      if (lane.conn.usable) lane.conn.destroy();
      lane.conn = null;
    }
    if (!lane.conn) lane.conn = await this.open(rng.chance(0.15) && !forced, ip, index);
    const conn = lane.conn;
    if (!conn) return;
    conn.sequence = index;
    conn.note(`(sequence ${index})`);
    if (forced) {
      await this.ensureEhlo(conn, rng);
      if (forced.action === 'data') {
        await this.ensureTransaction(conn, rng);
        await this.data(conn, rng, pickBody(rng, `c${index}`, forced.body));
      } else {
        await this.act(conn, forced.action, rng, index);
      }
    } else {
      const steps = rng.range(2, 14);
      for (let i = 0; i < steps && conn.usable && this.alive(); i++) await this.act(conn, rng.weighted(Fuzzer.ACTIONS), rng, index);
    }
    if (conn.usable) await this.noopProbe(conn, `at the end of sequence ${index}`);
    if (!conn.usable) lane.conn = null;
  }
}

function rngLineEnd(command: Cmd): string {
  // Junk lines alternate bare LF and CRLF (deterministically, by content), the others use CRLF.
  return command.name.startsWith('line of random bytes') && command.line.length % 2 === 1 ? '\n' : '\r\n';
}

/** One id per recipient; "and N more" when they do not fit in one reply line. */
const QUEUED = /^250 2\.0\.0 Ok: queued as [0-9a-z]+(?: [0-9a-z]+)*(?: and \d+ more)?$/;

function dataEndExpectation(body: Body, accepted: string[]): Expectation {
  const apply = (s: ConnState, reply: Reply) => {
    resetTransaction(s);
    if (QUEUED.test(reply.text)) accepted.push(...reply.text.replace(/ and \d+ more$/, '').split(' ').slice(5));
  };
  if (body.kind === 'valid') return { allowed: (reply) => QUEUED.test(reply.text), want: '250 2.0.0 Ok: queued as <id> ...', apply };
  if (body.kind === 'malformed') return { ...REFUSE, want: '5xx (the message is malformed)', apply };
  return { ...EITHER, apply };
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

// ---------------------------------------------------------------------------------------------
// The good client

interface GoodReport {
  sent: { id: string; subject: string }[];
  failures: string[];
  latencies: number[];
}

async function goodClient(address: string, stopped: () => boolean): Promise<GoodReport> {
  const report: GoodReport = { sent: [], failures: [], latencies: [] };
  let persistent: SmtpClient | null = null;
  const expect = (reply: Reply, code: number, what: string) => {
    if (reply.code !== code) throw new Error(`${what}: wanted ${code}, got ${JSON.stringify(reply.text)}`);
  };
  const open = async () => {
    const { client, greeting } = await SmtpClient.connect(address);
    expect(greeting, 220, 'greeting');
    expect(await client.command('EHLO good.example.com', GOOD_READ_MS), 250, 'EHLO');
    return client;
  };
  for (let n = 1; !stopped(); n++) {
    const started = Date.now();
    const fresh = n % 5 === 0;
    const subject = `good ${n} seed ${SEED}`;
    let client: SmtpClient | null = null;
    try {
      client = fresh ? await open() : (persistent ??= await open());
      expect(await client.command('MAIL FROM:<good@example.com>', GOOD_READ_MS), 250, 'MAIL');
      expect(await client.command(`RCPT TO:<good${n}@example.org>`, GOOD_READ_MS), 250, 'RCPT');
      expect(await client.command('DATA', GOOD_READ_MS), 354, 'DATA');
      client.write(dataPayload(utf8(`From: Good Client <good@example.com>\r\nTo: good${n}@example.org\r\nSubject: ${subject}\r\n\r\nA valid message, sent while the fuzz runs.\r\n`)));
      const end = await client.read(GOOD_READ_MS);
      const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(end.text)?.[1];
      if (!id) throw new Error(`end of DATA: wanted "250 2.0.0 Ok: queued as <id>", got ${JSON.stringify(end.text)}`);
      report.sent.push({ id, subject });
      if (fresh) {
        expect(await client.command('QUIT', GOOD_READ_MS), 221, 'QUIT');
        client.close();
      }
    } catch (error) {
      report.failures.push(`message ${n}${fresh ? ' (new connection)' : ''} at +${Date.now() - started} ms: ${(error as Error).message}`);
      client?.close();
      if (client === persistent) persistent = null;
    }
    const elapsed = Date.now() - started;
    report.latencies.push(elapsed);
    await sleep(Math.max(0, GOOD_EVERY_MS - elapsed));
  }
  if (persistent) {
    await persistent.command('QUIT', GOOD_READ_MS).catch(() => undefined);
    persistent.close();
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// The test

let store: TestStore;
let mailroom: MailroomProcess;
let submission: string;
let smtps: string;
let fuzzer: Fuzzer | null = null;
let good: GoodReport | null = null;
let fuzzMs = 0;

async function api(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  headers.set('authorization', `Bearer ${TEST_KEY}`);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${mailroom.url}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
}

async function waitForSmtp(address: string, tls: boolean): Promise<void> {
  // /readyz answers before the SMTP listeners are up (they start after the HTTP server): wait for a greeting.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const { client, greeting } = await SmtpClient.connect(address, { tls });
      client.close();
      if (greeting.code === 220) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || mailroom.child.exitCode !== null) throw new Error(`no SMTP greeting on ${address}:\n${mailroom.output().slice(-3000)}`);
    await sleep(100);
  }
}

let startupMs = 0;

before(async () => {
  const started = Date.now();
  store = await createTestStore();
  await prepareStore(store);
  const smtpPort = await freePort();
  const smtpsPort = await freePort();
  mailroom = await spawnMailroom(
    {
      ...store.env,
      MAILROOM_SMTP_PORT: String(smtpPort),
      MAILROOM_SMTPS_PORT: String(smtpsPort),
      MAILROOM_SMTP_MAX_CONNECTIONS_PER_IP: '200',
      MAILROOM_LOG_LEVEL: 'warn',
      MAILROOM_TRANSPORT: 'sandbox',
      // Garbage AUTH attempts would otherwise lock loopback out after 10 (then a valid AUTH gets 535; still allowed).
      MAILROOM_SMTP_AUTH_FAILURES: '1000',
    },
    'api,smtp',
  );
  submission = `127.0.0.1:${smtpPort}`;
  smtps = `127.0.0.1:${smtpsPort}`;
  await waitForSmtp(submission, false);
  await waitForSmtp(smtps, true);
  startupMs = Date.now() - started;
});

after(async () => {
  if (mailroom && mailroom.child.exitCode === null && mailroom.child.signalCode === null) {
    mailroom.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([mailroom.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 15_000)))]);
    clearTimeout(timer);
    if (!exited) {
      mailroom.child.kill('SIGKILL');
      await mailroom.exited;
    }
  }
  await store?.dispose();
});

function report(violations: Violation[]): string {
  const groups = new Map<string, Violation[]>();
  for (const violation of violations) groups.set(violation.rule, [...(groups.get(violation.rule) ?? []), violation]);
  const parts = [`${violations.length} violation(s) in ${groups.size} rule(s); seed ${SEED} (replay: FUZZ_SEED=${SEED})`];
  for (const [rule, list] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
    parts.push(`\n== ${rule}: ${list.length} time(s)`);
    for (const violation of list.slice(0, 2)) {
      parts.push(`  sequence ${violation.sequence}: ${violation.detail}`);
      for (const line of violation.transcript.slice(-14)) parts.push(`      ${line.length > 240 ? `${line.slice(0, 240)}...` : line}`);
    }
  }
  return parts.join('\n');
}

test(`SMTP fuzz: ${SEQUENCES} random and malformed sequences, each answered with a 5xx or a clean close`, { timeout: 240_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (replay with FUZZ_SEED=${SEED}); Mailroom started in ${startupMs} ms`);
  const exitedEarly = () => mailroom.child.exitCode !== null || mailroom.child.signalCode !== null;
  const active = new Fuzzer(submission, smtps, () => !exitedEarly());
  fuzzer = active;
  const started = Date.now();

  // Phase 1: before loopback is an IP credential. MAIL is refused (530) unless an AUTH succeeded.
  const phase1 = Math.min(NO_CREDENTIAL_SEQUENCES, SEQUENCES);
  const firstLanes = Array.from({ length: 6 }, () => ({ conn: null as FuzzConn | null }));
  await Promise.all(
    firstLanes.map(async (lane, l) => {
      for (let index = l; index < phase1; index += firstLanes.length) await active.runSequence(lane, index, false);
      lane.conn?.destroy();
    }),
  );

  const credential = await api('/smtp-credentials', { method: 'POST', json: { type: 'ip', address: '127.0.0.1' } });
  assert.equal(credential.status, 201, await credential.text());

  // Phase 2: the good client, and the rest of the sequences in LANES lanes. The first ones are the
  // catalogue (every action, every message kind once), the rest random.
  let stop = false;
  const goodRun = goodClient(submission, () => stop || exitedEarly());
  const catalogue: { action: string; body: number }[] = [
    ...Fuzzer.ACTION_NAMES.filter((name) => name !== 'data').map((action) => ({ action, body: 0 })),
    ...BODIES.map((_, body) => ({ action: 'data', body })),
  ];
  const lanes = Array.from({ length: LANES }, () => ({ conn: null as FuzzConn | null }));
  await Promise.all(
    lanes.map(async (lane, l) => {
      for (let index = phase1 + l; index < SEQUENCES; index += LANES) {
        const position = index - phase1;
        await active.runSequence(lane, index, true, position < catalogue.length ? catalogue[position] : undefined);
      }
      lane.conn?.destroy();
    }),
  );
  stop = true;
  good = await goodRun;
  fuzzMs = Date.now() - started;

  t.diagnostic(`${active.sequencesRun} sequences, ${active.connections} connections, ${active.replies} replies checked, ${active.accepted.length} fuzz messages accepted, in ${fuzzMs} ms`);
  t.diagnostic(`reply codes: ${[...active.codes].sort((a, b) => a[0] - b[0]).map(([code, n]) => `${code}=${n}`).join(' ')}`);
  t.diagnostic(`actions: ${[...active.actions].map(([name, n]) => `${name}=${n}`).join(' ')}`);
  t.diagnostic(`messages: ${[...active.bodies].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name}=${n}`).join('; ')}`);

  assert.ok(!exitedEarly(), `Mailroom exited during the fuzz (${mailroom.child.exitCode ?? mailroom.child.signalCode}):\n${mailroom.output().slice(-4000)}`);
  assert.equal(active.sequencesRun, SEQUENCES, 'every sequence ran');
  assert.ok(active.replies >= SEQUENCES * 3, `only ${active.replies} replies were checked`);
  if (SEQUENCES >= 1000) {
    // The paths the fuzz is meant to reach were reached (a generator that silently stopped reaching
    // them would otherwise pass): TLS and AUTH, transactions, refusals of each kind, closes.
    const wanted = [220, 221, 235, 250, 334, 354, 421, 452, 500, 501, 503, 504, 530, 535, 550, 552, 553];
    assert.deepEqual(wanted.filter((code) => !active.codes.has(code)), [], 'reply codes never seen');
  }
  if (SEQUENCES >= phase1 + catalogue.length) for (const body of BODIES) assert.ok((active.bodies.get(`${body[1]}: ${body[2]}`) ?? 0) > 0, `message kind "${body[2]}" was sent`);
  assert.equal(active.violations.length, 0, report(active.violations));
});

test('the good client was served throughout the fuzz: every valid message got "250 2.0.0 Ok: queued as <id>"', () => {
  assert.ok(good, 'the fuzz test ran');
  const sorted = [...good.latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  assert.deepEqual(good.failures, [], `${good.failures.length} of ${good.latencies.length} good messages failed`);
  const expected = Math.floor(fuzzMs / GOOD_EVERY_MS / 2);
  assert.ok(good.sent.length >= Math.max(5, expected), `only ${good.sent.length} good messages in ${fuzzMs} ms (median ${median} ms each)`);
});

test('after the fuzz the process is alive and healthy, and every acknowledged message is stored', async () => {
  assert.equal(mailroom.child.exitCode, null, `Mailroom exited:\n${mailroom.output().slice(-4000)}`);
  assert.equal(mailroom.child.signalCode, null, `Mailroom was killed:\n${mailroom.output().slice(-4000)}`);
  const health = await fetch(`${mailroom.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const ready = await fetch(`${mailroom.url}/readyz`);
  assert.equal(ready.status, 200, await ready.text());

  // A new SMTP session is still served.
  const { client, greeting } = await SmtpClient.connect(submission);
  assert.equal(greeting.code, 220);
  assert.equal((await client.command('EHLO after.example.com')).code, 250);
  assert.equal((await client.command('QUIT')).code, 221);
  client.close();

  assert.ok(good && good.sent.length > 0, 'the good client sent messages');
  const missing: string[] = [];
  const check = async (id: string, subject?: string) => {
    const response = await api(`/emails/${id}`);
    if (response.status !== 200) {
      missing.push(`${id}: ${response.status} ${(await response.text()).slice(0, 200)}`);
      return;
    }
    const { data } = (await response.json()) as { data: { id: string; subject: string; submittedBy: string } };
    if (data.id !== id || data.submittedBy !== 'smtp' || (subject !== undefined && data.subject !== subject)) missing.push(`${id}: ${JSON.stringify(data).slice(0, 300)}`);
  };
  // Fuzz messages too (a sample): GET /emails/{id} parses the stored body, random bytes included, and must answer.
  const accepted = fuzzer?.accepted ?? [];
  const sample = accepted.filter((_, index) => index % Math.max(1, Math.ceil(accepted.length / 400)) === 0);
  const work = [...good.sent.map((sent) => () => check(sent.id, sent.subject)), ...sample.map((id) => () => check(id))];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let job = work.shift(); job; job = work.shift()) await job();
    }),
  );
  assert.deepEqual(missing, [], 'every acknowledged message can be read back');
});
