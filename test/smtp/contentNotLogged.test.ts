import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_KEY, eventually } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { plainToken, SmtpClient } from '../helpers/smtpClient.js';

/**
 * Malformed SMTP submissions, each carrying markers in its subject, body and header values, sent
 * to a real Mailroom process (api, smtp and worker roles, sandbox delivery, debug logging). The
 * refused ones get their 5xx; the accepted ones are delivered; and afterwards no marker appears
 * anywhere in the process's log: no log line ever holds message content. A NUL in the body is
 * refused at DATA (550 5.6.0): accepted, it could only fail every delivery attempt for 72 hours,
 * with the database's complaint (which quotes the data) in the log each time.
 */
let store: TestStore;
let mailroom: MailroomProcess;
let submission: string;

before(async () => {
  store = await createTestStore();
  await prepareStore(store);
  const smtpPort = await freePort();
  mailroom = await spawnMailroom(
    { ...store.env, MAILROOM_SMTP_PORT: String(smtpPort), MAILROOM_SMTPS_PORT: String(await freePort()), MAILROOM_SMTP_INSECURE_AUTH: '1', MAILROOM_LOG_LEVEL: 'debug', MAILROOM_TRANSPORT: 'sandbox' },
    'api,smtp,worker',
  );
  submission = `127.0.0.1:${smtpPort}`;
});

after(async () => {
  mailroom?.child.kill('SIGKILL');
  await mailroom?.exited;
  await store?.dispose();
});

const marker = (n: number, where: string) => `Secret${where}Marker${n}x`;

interface Case {
  name: string;
  message: (n: number) => Buffer;
  /** The reply to the end of DATA: 250, or the refusal's code and enhanced code. */
  expect: [number, string | null];
}

const headers = (n: number) => `From: sender@example.com\r\nTo: rcpt@example.com\r\nSubject: ${marker(n, 'Subject')}\r\nX-Custom: ${marker(n, 'Header')}\r\n`;
const CASES: Case[] = [
  { name: 'NUL in the body', message: (n) => Buffer.from(`${headers(n)}\r\nbefore ${marker(n, 'Body')}\x00after\r\n`, 'latin1'), expect: [550, '5.6.0'] },
  { name: 'NUL at the very end of the body', message: (n) => Buffer.from(`${headers(n)}\r\n${marker(n, 'Body')}\r\n\x00`, 'latin1'), expect: [550, '5.6.0'] },
  { name: 'NUL in the Subject', message: (n) => Buffer.from(`From: sender@example.com\r\nSubject: ${marker(n, 'Subject')}\x00\r\n\r\n${marker(n, 'Body')}\r\n`, 'latin1'), expect: [550, '5.6.0'] },
  { name: 'no From', message: (n) => Buffer.from(`Subject: ${marker(n, 'Subject')}\r\n\r\n${marker(n, 'Body')}\r\n`), expect: [550, '5.6.0'] },
  { name: 'a header line over 998 octets', message: (n) => Buffer.from(`${headers(n)}X-Long: ${marker(n, 'Long')}${'y'.repeat(1200)}\r\n\r\n${marker(n, 'Body')}\r\n`), expect: [550, '5.6.0'] },
  { name: 'a body line over 998 octets', message: (n) => Buffer.from(`${headers(n)}\r\n${marker(n, 'Body')}${'z'.repeat(2000)}\r\n`), expect: [550, '5.6.0'] },
  { name: 'an unknown X-Mailroom field', message: (n) => Buffer.from(`${headers(n)}X-Mailroom-Nonsense: ${marker(n, 'Mailroom')}\r\n\r\n${marker(n, 'Body')}\r\n`), expect: [550, '5.6.0'] },
  { name: 'a bad X-Mailroom-Track', message: (n) => Buffer.from(`${headers(n)}X-Mailroom-Track: ${marker(n, 'Track')}\r\n\r\n${marker(n, 'Body')}\r\n`), expect: [550, '5.6.0'] },
  { name: 'a From that is no address', message: (n) => Buffer.from(`From: ${marker(n, 'From')}\r\nSubject: ${marker(n, 'Subject')}\r\n\r\n${marker(n, 'Body')}\r\n`), expect: [550, '5.6.0'] },
  { name: 'invalid UTF-8 in the body (accepted, 8-bit)', message: (n) => Buffer.concat([Buffer.from(`${headers(n)}\r\n${marker(n, 'Body')} `), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x0d, 0x0a])]), expect: [250, '2.0.0'] },
  { name: 'a valid message', message: (n) => Buffer.from(`${headers(n)}\r\n${marker(n, 'Body')}\r\n`), expect: [250, '2.0.0'] },
];

test('malformed submissions are refused, and no log line holds any of their content', async () => {
  const accepted: string[] = [];
  for (const [n, entry] of CASES.entries()) {
    const { client } = await SmtpClient.connect(submission);
    try {
      assert.equal((await client.command('EHLO fuzz.example.com')).code, 250);
      assert.equal((await client.command(`AUTH PLAIN ${plainToken('apikey', TEST_KEY)}`)).code, 235);
      assert.equal((await client.command('MAIL FROM:<sender@example.com>')).code, 250);
      assert.equal((await client.command('RCPT TO:<rcpt@example.com>')).code, 250);
      const { start, end } = await client.data(entry.message(n));
      assert.equal(start.code, 354, entry.name);
      assert.equal(end?.code, entry.expect[0], `${entry.name}: ${end?.text}`);
      if (entry.expect[1]) assert.equal(end?.enhanced, entry.expect[1], `${entry.name}: ${end?.text}`);
      if (end?.code === 250) accepted.push(...(/queued as (.+)$/.exec(end.text)?.[1]?.split(' ') ?? []));
      for (const reply of [start, end]) assert.doesNotMatch(reply?.text ?? '', /Secret\w+Marker/, `${entry.name}: a reply echoes content`);
    } finally {
      client.close();
    }
  }
  assert.equal(accepted.length, 2);
  for (const id of accepted) {
    await eventually(async () => {
      const response = await fetch(`${mailroom.url}/emails/${id}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
      return ((await response.json()) as { data: { status: string } }).data.status === 'DELIVERED';
    }, 20_000, `${id} delivered`);
  }
  const log = mailroom.output();
  assert.match(log, /delivery worker started/, 'the log was captured');
  const leaked = log.split('\n').filter((line) => /Secret\w+Marker/.test(line));
  assert.deepEqual(leaked, [], 'log lines with message content');
});

test('a username with a NUL or broken UTF-8 is a refused login (5xx), never an internal error', async () => {
  for (const username of [Buffer.from('us\u0000er'), Buffer.from([0x75, 0xed, 0xa0, 0x80, 0x72]), Buffer.from([0xff, 0xfe])]) {
    const { client } = await SmtpClient.connect(submission);
    try {
      assert.equal((await client.command('EHLO fuzz.example.com')).code, 250);
      assert.equal((await client.command('AUTH LOGIN')).code, 334);
      let reply = await client.command(username.toString('base64'));
      if (reply.code === 334) reply = await client.command(Buffer.from('password').toString('base64'));
      assert.ok(reply.code === 501 || reply.code === 535, `${username.toString('hex')}: ${reply.text}`);
    } finally {
      client.close();
    }
  }
});
