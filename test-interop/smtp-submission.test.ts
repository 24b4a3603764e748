/**
 * Interop: the SMTP API (SPEC section 2) used by SMTP clients that are not Node's: Python's
 * standard smtplib (STARTTLS + AUTH PLAIN, implicit TLS + AUTH LOGIN, the "apikey" username, a
 * refused login) and swaks (STARTTLS + AUTH PLAIN with X-Mailroom-* header fields, AUTH without
 * TLS, refused messages). Mailroom runs in this process with the sandbox transport, so every
 * delivered copy can be read back from GET /sandbox/messages.
 *
 * The peers (python3, swaks) are installed by `.ci/run`, the only runner of this suite; a missing
 * peer is a failure, never a skip.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { eventually, startTestApp, TEST_KEY, type TestApp } from '../test/helpers/app.js';
import { INSTALL_HINT, findExecutable } from './peers.js';
import { samplePdf } from '../test/helpers/samplePdf.js';

function requirePython(): string {
  const path = findExecutable('python3', process.env.MAILROOM_INTEROP_PYTHON);
  assert.ok(path, `python3 is not installed: ${INSTALL_HINT}`);
  const probe = spawnSync(path, ['-c', 'import smtplib, ssl, email.message, email.policy, json'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${path} cannot import smtplib and the email package (${probe.stderr || probe.error?.message}): ${INSTALL_HINT}`);
  return path;
}

function requireSwaks(): string {
  const path = findExecutable('swaks', process.env.MAILROOM_INTEROP_SWAKS);
  assert.ok(path, `swaks is not installed: ${INSTALL_HINT}`);
  // swaks does TLS only with Perl's Net::SSLeay (Debian's libnet-ssleay-perl, only a Recommends).
  const support = spawnSync(path, ['--support'], { encoding: 'utf8' });
  const capabilities = `${support.stdout}${support.stderr}`;
  assert.match(capabilities, /^=== TLS supported/m, `${path} cannot do TLS (${capabilities.match(/^\*\*\* TLS.*$/m)?.[0] ?? support.error?.message}): install Debian's libnet-ssleay-perl with the peers; ${INSTALL_HINT}`);
  return path;
}

/**
 * One smtplib session per run, chosen by `scenario`; prints one JSON object. smtplib's debug
 * output (every line sent and received) is on stderr, for the AUTH method actually used.
 */
const CLIENT = String.raw`
import json, smtplib, ssl, sys
from email.message import EmailMessage
from email import policy

spec = json.loads(sys.argv[1])
host, port = spec['host'], spec['port']
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
out = {}

def simple(subject):
    msg = EmailMessage()
    msg['From'] = spec['from']
    msg['To'] = spec['to'][0]
    msg['Subject'] = subject
    msg.set_content('A short message from smtplib.\n')
    return msg.as_bytes(policy=policy.SMTP)

def text(pair):
    return [pair[0], pair[1].decode('utf-8', 'replace')]

def transaction(s, raw):
    out['mail'] = text(s.mail(spec['from'], ['BODY=8BITMIME']))
    out['rcpt'] = [text(s.rcpt(address)) for address in spec['to']]
    out['data'] = text(s.data(raw))

scenario = spec['scenario']
if scenario == 'starttls-plain':
    s = smtplib.SMTP(host, port, timeout=30)
    s.set_debuglevel(1)
    s.ehlo('python.example')
    out['authBeforeTls'] = s.has_extn('auth')
    out['starttls'] = text(s.starttls(context=context))
    s.ehlo('python.example')
    out['authAfterTls'] = s.esmtp_features.get('auth', '')
    out['login'] = text(s.login(spec['user'], spec['password']))
    msg = EmailMessage()
    msg['From'] = spec['from']
    msg['To'] = ', '.join(spec['headerTo'])
    msg['Bcc'] = spec['headerBcc']
    msg['Subject'] = spec['subject']
    msg['X-Mailroom-External-Id'] = 'py-1'
    msg['X-Mailroom-Tags'] = 'interop, python'
    msg.set_content(spec['text'])
    msg.add_alternative(spec['html'], subtype='html')
    with open(spec['pdf'], 'rb') as f:
        msg.add_attachment(f.read(), maintype='application', subtype='pdf', filename='invoice.pdf')
    with open(spec['notes'], 'rb') as f:
        msg.add_attachment(f.read().decode('utf-8'), subtype='plain', charset='utf-8', cte='8bit', filename='notes.txt')
    # sendmail/data, not send_message: send_message would drop the Bcc field itself; Mailroom must.
    raw = msg.as_bytes(policy=policy.SMTP)
    out['submittedBcc'] = b'\r\nBcc: ' in raw
    transaction(s, raw)
    s.quit()
elif scenario == 'ssl-login':
    s = smtplib.SMTP_SSL(host, port, timeout=30, context=context)
    s.set_debuglevel(1)
    s.ehlo('python.example')
    out['auth'] = s.esmtp_features.get('auth', '')
    s.user, s.password = spec['user'], spec['password']
    out['login'] = text(s.auth('LOGIN', s.auth_login, initial_response_ok=False))
    transaction(s, simple(spec['subject']))
    s.quit()
elif scenario == 'apikey':
    s = smtplib.SMTP(host, port, timeout=30)
    s.starttls(context=context)
    s.ehlo('python.example')
    out['login'] = text(s.login('apikey', spec['password']))
    transaction(s, simple(spec['subject']))
    s.quit()
elif scenario == 'bad-login':
    s = smtplib.SMTP(host, port, timeout=30)
    s.starttls(context=context)
    s.ehlo('python.example')
    try:
        s.login(spec['user'], spec['password'])
        out['error'] = None
    except smtplib.SMTPAuthenticationError as e:
        out['error'] = {'type': type(e).__name__, 'code': e.smtp_code, 'text': e.smtp_error.decode('utf-8', 'replace')}
    # Not logged in: a transaction is refused.
    out['mail'] = text(s.mail(spec['from']))
    s.quit()
elif scenario == 'plain-auth-without-tls':
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo('python.example')
    out['authOffered'] = s.has_extn('auth')
    import base64
    out['auth'] = text(s.docmd('AUTH', 'PLAIN ' + base64.b64encode(('\0%s\0%s' % (spec['user'], spec['password'])).encode()).decode()))
    out['mail'] = text(s.mail(spec['from']))
    s.quit()
print(json.dumps(out))
`;

interface PythonRun<T> {
  result: T;
  transcript: string;
}

let python: string;
let swaks: string;
let app: TestApp;
let work: string;
let credential: { username: string; password: string };
let submission: { host: string; port: number };
let smtps: { host: string; port: number };

function split(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Runs the smtplib client (asynchronously: Mailroom answers from this same process). */
function runPython<T>(spec: Record<string, unknown>): Promise<PythonRun<T>> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', CLIENT, JSON.stringify(spec)], { env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`python3 (${String(spec.scenario)}) exited ${code}:\n${stderr}`));
        return;
      }
      try {
        resolve({ result: JSON.parse(stdout) as T, transcript: stderr });
      } catch (error) {
        reject(new Error(`python3 printed no JSON (${String(error)}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

interface SwaksRun {
  status: number | null;
  output: string;
}

function runSwaks(args: string[]): Promise<SwaksRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(swaks, ['--server', submission.host, '--port', String(submission.port), '--timeout', '30', ...args]);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, output }));
  });
}

interface EmailView {
  id: string;
  to: string;
  from: string;
  status: string;
  subject: string;
  externalId: string | null;
  tags: string[];
  cc: string[];
  bcc: string[];
  submittedBy: string;
}

interface Caught {
  id: number;
  messageId: string;
  envelope: { from: string; to: string[] };
  subject: string;
  raw: string;
}

async function email(id: string): Promise<EmailView> {
  const response = await app.api(`/emails/${id}`);
  assert.equal(response.status, 200, `GET /emails/${id} answered ${response.status}`);
  return ((await response.json()) as { data: EmailView }).data;
}

/** The sandbox's copy of a message, once the worker has delivered it. */
async function caught(id: string): Promise<Caught> {
  return eventually(
    async () => {
      const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; messageId: string }[] };
      const entries = list.data.filter((item) => item.messageId === id);
      if (entries.length === 0) return undefined;
      assert.equal(entries.length, 1, `the sandbox caught message ${id} once`);
      const response = await app.api(`/sandbox/messages/${entries[0]!.id}`);
      assert.equal(response.status, 200);
      return ((await response.json()) as { data: Caught }).data;
    },
    20_000,
    `the sandbox to catch ${id}`,
  );
}

async function storedBody(id: string): Promise<Buffer> {
  const rows = await app.mailroom.db.query<{ raw: Uint8Array }>(
    `SELECT b.raw FROM messages m JOIN message_bodies b ON b.id = m.content->>'bodyId' WHERE m.id = $1`,
    [id],
  );
  assert.equal(rows.length, 1, `one stored body for ${id}`);
  const raw = rows[0]!.raw;
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

async function messageCount(): Promise<number> {
  const [row] = await app.mailroom.db.query<{ n: number | string }>('SELECT count(*) AS n FROM messages');
  return Number(row!.n);
}

function headerBlock(raw: string): string {
  const end = raw.search(/\r?\n\r?\n/);
  assert.ok(end > 0, 'the message has a header block');
  return raw.slice(0, end);
}

function queuedIds(reply: string): string[] {
  const match = /^2\.0\.0 Ok: queued as ((?:\S+)(?: \S+)*)$/.exec(reply.trim());
  assert.ok(match, `a "queued as" reply: ${JSON.stringify(reply)}`);
  return match[1]!.split(' ');
}


const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

before(async () => {
  python = requirePython();
  swaks = requireSwaks();
  work = mkdtempSync(join(tmpdir(), 'mailroom-smtp-interop-'));
  app = await startTestApp({ MAILROOM_ROLES: 'api,smtp,worker', MAILROOM_SMTP_PORT: '0', MAILROOM_SMTPS_PORT: '0', MAILROOM_TRANSPORT: 'sandbox' });
  assert.ok(app.mailroom.smtp, 'the smtp role runs');
  submission = split(app.mailroom.smtp.submission);
  smtps = split(app.mailroom.smtp.smtps);
  const response = await app.api('/smtp-credentials', { method: 'POST', json: { type: 'password', name: 'interop' } });
  const body = await response.text();
  assert.equal(response.status, 201, body);
  const { data } = JSON.parse(body) as { data: { username: string; password: string; type: string } };
  assert.equal(data.type, 'password');
  assert.ok(data.username && data.password, body);
  credential = { username: data.username, password: data.password };
});

after(async () => {
  await app?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('smtplib, STARTTLS + AUTH PLAIN: a multipart message to two recipients and a Bcc is stored once per recipient and delivered whole, without Bcc or X-Mailroom fields', { timeout: 60_000 }, async () => {
  const pdf = samplePdf();
  const notes = Buffer.from('Grüße aus Köln\r\n日本語のメモ ✉\r\n.a line that starts with a dot\r\n', 'utf8');
  const pdfFile = join(work, 'invoice.pdf');
  const notesFile = join(work, 'notes.txt');
  writeFileSync(pdfFile, pdf);
  writeFileSync(notesFile, notes);
  const recipients = ['alice@example.org', 'bob@example.net', 'carol@example.com'];
  const subject = `smtplib multipart ${randomBytes(4).toString('hex')}`;
  const { result, transcript } = await runPython<{
    authBeforeTls: boolean;
    starttls: [number, string];
    authAfterTls: string;
    login: [number, string];
    submittedBcc: boolean;
    mail: [number, string];
    rcpt: [number, string][];
    data: [number, string];
  }>({
    scenario: 'starttls-plain',
    host: submission.host,
    port: submission.port,
    user: credential.username,
    password: credential.password,
    from: 'Interop Sender <sender@example.com>',
    to: recipients,
    headerTo: ['Alice <alice@example.org>', 'bob@example.net'],
    headerBcc: 'carol@example.com',
    subject,
    text: 'Hello from smtplib.\n.a line that starts with a dot\n',
    html: '<html><body><p>Hello from <b>smtplib</b>.</p></body></html>\n',
    pdf: pdfFile,
    notes: notesFile,
  });
  assert.equal(result.authBeforeTls, false, 'AUTH is not offered before STARTTLS');
  assert.equal(result.starttls[0], 220);
  assert.match(result.authAfterTls, /\bPLAIN\b/);
  assert.match(result.authAfterTls, /\bLOGIN\b/);
  assert.match(transcript, /send: 'AUTH PLAIN /, 'smtplib chose AUTH PLAIN');
  assert.equal(result.login[0], 235, `login: ${JSON.stringify(result.login)}`);
  assert.equal(result.submittedBcc, true, 'the submitted bytes carry a Bcc field (so that removing it is Mailroom’s job)');
  assert.equal(result.mail[0], 250);
  assert.deepEqual(result.rcpt.map(([code]) => code), [250, 250, 250]);
  assert.equal(result.data[0], 250, `reply to DATA: ${JSON.stringify(result.data)}`);
  const ids = queuedIds(result.data[1]);
  assert.equal(ids.length, 3, 'one id per recipient');
  assert.equal(new Set(ids).size, 3, 'three distinct ids');

  // Each id is a message of its own, to its own recipient (in envelope order), with its own status.
  for (const [index, id] of ids.entries()) {
    const data = await email(id);
    assert.equal(data.id, id);
    assert.equal(data.to, recipients[index]);
    assert.equal(data.subject, subject);
    assert.equal(data.submittedBy, 'smtp');
    assert.equal(data.externalId, 'py-1');
    assert.deepEqual(data.tags, ['interop', 'python']);
    assert.deepEqual(data.bcc, ['carol@example.com'], 'the recipient not in To or Cc is the Bcc');
  }
  const statuses = await eventually(
    async () => {
      const views = await Promise.all(ids.map(email));
      return views.every((view) => view.status !== 'QUEUED') ? views.map((view) => view.status) : undefined;
    },
    20_000,
    'the three messages to be delivered',
  );
  for (const status of statuses) assert.ok(['SENT', 'DELIVERED'].includes(status), `delivered, not ${status}`);
  for (const id of ids) {
    const events = (await (await app.api(`/emails/${id}/events`)).json()) as { data: { messageId: string; type: string }[] };
    assert.ok(events.data.length > 0, `${id} has events`);
    for (const event of events.data) assert.equal(event.messageId, id, `the events of ${id} are its own`);
  }

  // The sandbox caught one copy per recipient, each with only that recipient in its envelope.
  const stored = await storedBody(ids[0]!);
  for (const [index, id] of ids.entries()) {
    const copy = await caught(id);
    assert.deepEqual(copy.envelope.to, [recipients[index]], `the envelope of ${id}`);
    assert.equal(copy.subject, subject);
    assert.equal(Buffer.compare(await storedBody(id), stored), 0, 'the recipients share one stored body');
    assert.equal(copy.raw, stored.toString('utf8'), `the caught bytes of ${id} are the stored bytes`);

    for (const [what, raw] of [['caught', copy.raw], ['stored', stored.toString('utf8')]] as const) {
      const header = headerBlock(raw);
      assert.doesNotMatch(header, /^bcc:/im, `${what} copy of ${id}: no Bcc field`);
      assert.doesNotMatch(header, /^x-mailroom-/im, `${what} copy of ${id}: no X-Mailroom-* field`);
      assert.ok(!header.includes('carol@example.com'), `${what} copy of ${id}: the Bcc address is not in the header`);
      assert.equal((header.match(/^message-id:/gim) ?? []).length, 1, `${what} copy of ${id}: one Message-ID (added)`);
      assert.equal((header.match(/^date:/gim) ?? []).length, 1, `${what} copy of ${id}: one Date (added)`);
    }

    const parsed = await simpleParser(Buffer.from(copy.raw, 'utf8'));
    assert.equal(parsed.subject, subject);
    assert.ok(parsed.text?.includes('Hello from smtplib.'), `text part: ${parsed.text}`);
    assert.ok(parsed.text?.includes('\n.a line that starts with a dot'), 'a leading dot survives dot-stuffing');
    assert.ok(typeof parsed.html === 'string' && parsed.html.includes('<b>smtplib</b>'), `html part: ${String(parsed.html)}`);
    assert.equal(parsed.attachments.length, 2, 'two attachments');
    const byName = new Map(parsed.attachments.map((attachment) => [attachment.filename, attachment]));
    const pdfPart = byName.get('invoice.pdf');
    const notesPart = byName.get('notes.txt');
    assert.ok(pdfPart && notesPart, `attachments: ${parsed.attachments.map((a) => a.filename).join(', ')}`);
    assert.equal(pdfPart.contentType, 'application/pdf');
    assert.equal(sha256(pdfPart.content), sha256(pdf), 'the PDF arrives byte for byte');
    assert.equal(notesPart.contentType, 'text/plain');
    assert.equal(sha256(notesPart.content), sha256(notes), 'the 8bit UTF-8 text attachment arrives byte for byte');
  }
});

test('smtplib, implicit TLS (SMTP_SSL) + AUTH LOGIN: the message is stored and delivered', { timeout: 30_000 }, async () => {
  const subject = `smtplib ssl login ${randomBytes(4).toString('hex')}`;
  const { result, transcript } = await runPython<{ auth: string; login: [number, string]; data: [number, string] }>({
    scenario: 'ssl-login',
    host: smtps.host,
    port: smtps.port,
    user: credential.username,
    password: credential.password,
    from: 'sender@example.com',
    to: ['dave@example.org'],
    subject,
  });
  assert.match(result.auth, /\bLOGIN\b/, 'AUTH is offered at once over implicit TLS');
  assert.match(transcript, /send: 'AUTH LOGIN\\r\\n'/, 'AUTH LOGIN without an initial response');
  assert.equal((transcript.match(/reply: b'334 /g) ?? []).length, 2, 'two 334 challenges (username, password)');
  assert.equal(result.login[0], 235, `login: ${JSON.stringify(result.login)}`);
  assert.equal(result.data[0], 250, `reply to DATA: ${JSON.stringify(result.data)}`);
  const [id, ...rest] = queuedIds(result.data[1]);
  assert.deepEqual(rest, []);
  const data = await email(id!);
  assert.equal(data.to, 'dave@example.org');
  assert.equal(data.subject, subject);
  const copy = await caught(id!);
  assert.deepEqual(copy.envelope.to, ['dave@example.org']);
});

test('smtplib with the username "apikey" and an API key as password', { timeout: 30_000 }, async () => {
  const subject = `smtplib apikey ${randomBytes(4).toString('hex')}`;
  const { result } = await runPython<{ login: [number, string]; data: [number, string] }>({
    scenario: 'apikey',
    host: submission.host,
    port: submission.port,
    password: TEST_KEY,
    from: 'sender@example.com',
    to: ['erin@example.org'],
    subject,
  });
  assert.equal(result.login[0], 235, `login: ${JSON.stringify(result.login)}`);
  assert.equal(result.data[0], 250, `reply to DATA: ${JSON.stringify(result.data)}`);
  const [id] = queuedIds(result.data[1]);
  const data = await email(id!);
  assert.equal(data.to, 'erin@example.org');
  assert.equal(data.subject, subject);
});

test('smtplib with a wrong password: SMTPAuthenticationError 535, and no transaction without AUTH', { timeout: 30_000 }, async () => {
  const before = await messageCount();
  const { result } = await runPython<{ error: { type: string; code: number; text: string } | null; mail: [number, string] }>({
    scenario: 'bad-login',
    host: submission.host,
    port: submission.port,
    user: credential.username,
    password: `${credential.password}x`,
    from: 'sender@example.com',
  });
  assert.ok(result.error, 'the login was refused');
  assert.equal(result.error.type, 'SMTPAuthenticationError');
  assert.equal(result.error.code, 535);
  assert.match(result.error.text, /^5\.7\.8 /);
  assert.equal(result.mail[0], 530, `MAIL without AUTH: ${JSON.stringify(result.mail)}`);
  assert.match(result.mail[1], /^5\.7\.0 /);
  assert.equal(await messageCount(), before);
});

test('smtplib without TLS: AUTH is not offered, and refused when sent anyway', { timeout: 30_000 }, async (t) => {
  const { result } = await runPython<{ authOffered: boolean; auth: [number, string]; mail: [number, string] }>({
    scenario: 'plain-auth-without-tls',
    host: submission.host,
    port: submission.port,
    user: credential.username,
    password: credential.password,
    from: 'sender@example.com',
  });
  t.diagnostic(`AUTH before STARTTLS: ${result.auth.join(' ')}; MAIL: ${result.mail.join(' ')}`);
  assert.equal(result.authOffered, false);
  assert.ok(result.auth[0] >= 500 && result.auth[0] < 600, `AUTH before STARTTLS: ${JSON.stringify(result.auth)}`);
  assert.equal(result.mail[0], 530, `MAIL after the refused AUTH: ${JSON.stringify(result.mail)}`);
});

test('swaks, STARTTLS + AUTH PLAIN: X-Mailroom-External-Id and X-Mailroom-Tags set the message’s externalId and tags', { timeout: 30_000 }, async () => {
  const run = await runSwaks([
    '--tls',
    '--auth', 'PLAIN',
    '--auth-user', credential.username,
    '--auth-password', credential.password,
    '--from', 'sender@example.com',
    '--to', 'frank@example.org',
    '--header', 'Subject: swaks with Mailroom headers',
    '--header', 'X-Mailroom-External-Id: ext-42',
    '--header', 'X-Mailroom-Tags: a,b',
  ]);
  assert.equal(run.status, 0, run.output);
  assert.match(run.output, /<~ {2}235 /, 'AUTH PLAIN accepted over TLS');
  const reply = /<~ {2}250 (2\.0\.0 Ok: queued as .*)$/m.exec(run.output);
  assert.ok(reply, run.output);
  const [id, ...rest] = queuedIds(reply[1]!);
  assert.deepEqual(rest, []);
  const data = await email(id!);
  assert.equal(data.externalId, 'ext-42');
  assert.deepEqual(data.tags, ['a', 'b']);
  assert.equal(data.to, 'frank@example.org');
  assert.equal(data.subject, 'swaks with Mailroom headers');
  const header = headerBlock((await caught(id!)).raw);
  assert.doesNotMatch(header, /^x-mailroom-/im, 'no X-Mailroom-* field is delivered');
  assert.match(header, /^subject: swaks with Mailroom headers$/im);
});

test('swaks without --tls cannot AUTH: the EHLO reply offers no AUTH and swaks fails the AUTH step', { timeout: 30_000 }, async () => {
  const before = await messageCount();
  const run = await runSwaks([
    '--auth', 'PLAIN',
    '--auth-user', credential.username,
    '--auth-password', credential.password,
    '--from', 'sender@example.com',
    '--to', 'grace@example.org',
  ]);
  assert.equal(run.status, 28, `swaks exits 28 (error in AUTH transaction):\n${run.output}`);
  assert.match(run.output, /<- {2}250[- ]STARTTLS/, 'STARTTLS is offered');
  assert.doesNotMatch(run.output, /<- {2}250[- ]AUTH/, 'AUTH is not offered');
  assert.match(run.output, /did not advertise authentication/i, run.output);
  assert.equal(await messageCount(), before, 'nothing stored');
});

test('swaks with refused messages: X-Mailroom-Track: bogus is 550 5.6.0, an 11 MB message is 552 5.3.4; nothing stored', { timeout: 60_000 }, async (t) => {
  const before = await messageCount();
  const auth = ['--tls', '--auth', 'PLAIN', '--auth-user', credential.username, '--auth-password', credential.password, '--from', 'sender@example.com', '--to', 'heidi@example.org'];
  const bogus = await runSwaks([...auth, '--header', 'From: Heidi Sender <sender@example.com>', '--header', 'X-Mailroom-Track: bogus']);
  assert.equal(bogus.status, 26, `swaks exits 26 (mail not accepted after DATA):\n${bogus.output}`);
  assert.match(bogus.output, /<~\* {1,2}550 5\.6\.0 .*X-Mailroom-Track/, bogus.output);
  t.diagnostic(`bogus X-Mailroom-Track: ${/^<~\*.*$/m.exec(bogus.output)?.[0]}`);

  const big = join(work, 'big.bin');
  writeFileSync(big, randomBytes(8 * 1024 * 1024)); // base64: about 11 MB on the wire
  const oversize = await runSwaks([...auth, '--attach-type', 'application/pdf', '--attach-name', 'big.pdf', '--attach', `@${big}`]);
  assert.equal(oversize.status, 26, `swaks exits 26:\n${oversize.output.slice(-2000)}`);
  assert.match(oversize.output, /<~\* {1,2}552 5\.3\.4 /, oversize.output.slice(-2000));
  t.diagnostic(`11 MB: ${/^<~\*.*$/m.exec(oversize.output)?.[0]}`);
  assert.equal(await messageCount(), before, 'nothing stored');
});
