/**
 * Interop: the relay transport against Postfix's own `smtp-sink`, a real SMTP server that is not
 * Node's. Every message the sink accepts is dumped to a file of its own (`-d`), which is then read
 * back here and by Python's standard `email` package.
 *
 * The peers come from Debian's packages (postfix, for smtp-sink) and the machine's python3; they
 * are installed by `.ci/run`, which is the only runner of this suite. A missing peer is a failure,
 * never a skip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { requireAccount } from '../src/accounts/accounts.js';
import { addDomain } from '../src/domains/domains.js';
import { eventually, startTestApp, type TestApp } from '../test/helpers/app.js';
import { INSTALL_HINT, findExecutable, settledFiles, startSink, type Sink } from './peers.js';
import { samplePdf } from '../test/helpers/samplePdf.js';

const SENDER_DOMAIN = 'elipackage.com';
const FROM = `promo@${SENDER_DOMAIN}`;

function requirePython(): string {
  const path = findExecutable('python3', process.env.MAILROOM_INTEROP_PYTHON);
  assert.ok(path, `python3 is not installed: ${INSTALL_HINT}`);
  const probe = spawnSync(path, ['-c', 'import email, email.policy, hashlib, json'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${path} cannot import the standard email package (${probe.stderr || probe.error?.message}): ${INSTALL_HINT}`);
  return path;
}

interface Harness {
  app: TestApp;
  sink: Sink;
  stop(): Promise<void>;
}

/** Mailroom in this process with the relay transport pointed at a fresh smtp-sink, and the sender's domain verified. */
async function startHarness(): Promise<Harness> {
  const sink = await startSink();
  let app: TestApp;
  try {
    app = await startTestApp({ MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: sink.url });
  } catch (error) {
    await sink.stop();
    throw error;
  }
  try {
    const account = await requireAccount(app.mailroom.db, 'default');
    await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, SENDER_DOMAIN, { verified: true });
  } catch (error) {
    await app.stop();
    await sink.stop();
    throw error;
  }
  return {
    app,
    sink,
    async stop() {
      await app.stop();
      await sink.stop();
    },
  };
}

async function send(app: TestApp, body: Record<string, unknown>): Promise<string> {
  const response = await app.api('/emails', { method: 'POST', json: body });
  const text = await response.text();
  assert.equal(response.status, 200, `POST /emails answered ${response.status}: ${text}`);
  const { data } = JSON.parse(text) as { data: { id: string; status: string } };
  assert.equal(data.status, 'QUEUED');
  return data.id;
}

/** Waits until every message is SENT; fails at once if one ends in another terminal state. */
async function waitAllSent(app: TestApp, ids: string[], timeoutMs: number): Promise<void> {
  const pending = new Set(ids);
  await eventually(
    async () => {
      const batch = [...pending].slice(0, 50);
      await Promise.all(
        batch.map(async (id) => {
          const response = await app.api(`/emails/${id}`);
          assert.equal(response.status, 200, `GET /emails/${id} answered ${response.status}`);
          const { data } = (await response.json()) as { data: { status: string } };
          if (data.status === 'SENT') pending.delete(id);
          else if (['BOUNCED', 'REJECTED', 'FAILED', 'DEFERRED'].includes(data.status)) {
            const events = await (await app.api(`/emails/${id}/events`)).text();
            assert.fail(`message ${id} is ${data.status}, not SENT: ${events}`);
          }
        }),
      );
      return pending.size === 0;
    },
    timeoutMs,
    `${ids.length} messages to be SENT (${pending.size} left)`,
  );
}

interface Dump {
  file: string;
  raw: string;
  /** smtp-sink's own records: X-Mail-Args, X-Rcpt-Args, ... */
  sink: { name: string; value: string }[];
  /** The message's header fields as Mailroom sent them (unfolded), after smtp-sink's Received. */
  headers: { name: string; value: string }[];
  body: string;
}

/** Splits a dump file: smtp-sink's records, its three-line Received, then the message as received. */
function parseDump(file: string): Dump {
  const raw = readFileSync(file, 'latin1');
  const end = raw.indexOf('\n\n');
  assert.ok(end > 0, `${file} has no end of header`);
  const fields: { name: string; value: string }[] = [];
  for (const line of raw.slice(0, end).split('\n')) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1]!.value += line.replace(/^[ \t]+/, ' ');
    else {
      const colon = line.indexOf(':');
      assert.ok(colon > 0, `${file}: not a header line: ${JSON.stringify(line)}`);
      fields.push({ name: line.slice(0, colon), value: line.slice(colon + 1).trim() });
    }
  }
  const received = fields.findIndex((field) => field.name === 'Received' && /\(smtp-sink\)/.test(field.value));
  assert.ok(received >= 0, `${file} has no smtp-sink Received record`);
  return { file, raw, sink: fields.slice(0, received), headers: fields.slice(received + 1), body: raw.slice(end + 2) };
}

function header(dump: Dump, name: string): string[] {
  return dump.headers.filter((field) => field.name.toLowerCase() === name.toLowerCase()).map((field) => field.value);
}

/** RFC 2047 decoding of an unstructured header (UTF-8 or ASCII words, Q or B), adjacent words joined. */
function decodeWords(value: string): string {
  const word = /=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g;
  const parts: (string | Buffer)[] = [];
  let last = 0;
  for (let match = word.exec(value); match; match = word.exec(value)) {
    const between = value.slice(last, match.index);
    if (!(parts.length > 0 && Buffer.isBuffer(parts[parts.length - 1]) && /^\s*$/.test(between))) parts.push(between);
    assert.match(match[1]!, /^(utf-8|us-ascii)(\*.*)?$/i, `unexpected charset in ${value}`);
    const bytes =
      match[2]!.toUpperCase() === 'B'
        ? Buffer.from(match[3]!, 'base64')
        : Buffer.from(match[3]!.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    const previous = parts[parts.length - 1];
    if (Buffer.isBuffer(previous)) parts[parts.length - 1] = Buffer.concat([previous, bytes]);
    else parts.push(bytes);
    last = match.index + match[0].length;
  }
  parts.push(value.slice(last));
  return parts.map((part) => (Buffer.isBuffer(part) ? part.toString('utf8') : part)).join('');
}


const UTF8_SUBJECT = 'Grüße aus Köln – 日本語の件名 ✉ Ünïcödé test with a long tail so that it has to be folded over lines';

test('200 messages relayed to Postfix smtp-sink arrive whole: Message-ID, To, Cc, Subject, envelope, no Bcc', { timeout: 180_000 }, async () => {
  const { app, sink, stop } = await startHarness();
  try {
    const pdf = samplePdf();
    interface Sent {
      id: string;
      to: string;
      cc: string[];
      bcc: string[];
      subject: string;
      marker: string;
      attachment: boolean;
    }
    const requests = Array.from({ length: 200 }, (_unused, i) => {
      const cc = i % 10 === 3 ? [`cc-${i}@example.org`, `cc2-${i}@example.net`] : i % 7 === 0 ? [`cc-${i}@example.org`] : [];
      const bcc = i % 9 === 4 ? [`bcc-${i}@example.org`] : i % 25 === 0 ? [`bcc-${i}@example.org`, `bcc2-${i}@example.net`] : [];
      const utf8 = i === 42;
      const marker = `body-marker-${i}-${randomBytes(6).toString('hex')}`;
      const body: Record<string, unknown> = {
        to: `rcpt-${i}@example.com`,
        from: `EliPackage <${FROM}>`,
        subject: utf8 ? UTF8_SUBJECT : `Interop message ${i}`,
        text: `Hello ${i},\n${marker}\n.a line that starts with a dot\n..and one with two\n`,
        externalId: `interop${i}`,
      };
      if (cc.length > 0) body.cc = cc;
      if (bcc.length > 0) body.bcc = bcc;
      if (utf8) body.attachments = [{ filename: 'invoice.pdf', content: pdf.toString('base64'), contentType: 'application/pdf' }];
      return { body, cc, bcc, marker, attachment: utf8 };
    });
    assert.ok(requests.some((r) => r.cc.length > 0 && r.bcc.length > 0), 'at least one message has both cc and bcc');

    const sent: Sent[] = [];
    for (let start = 0; start < requests.length; start += 20) {
      const chunk = requests.slice(start, start + 20);
      const ids = await Promise.all(chunk.map((request) => send(app, request.body)));
      chunk.forEach((request, index) =>
        sent.push({
          id: ids[index]!,
          to: request.body.to as string,
          cc: request.cc,
          bcc: request.bcc,
          subject: request.body.subject as string,
          marker: request.marker,
          attachment: request.attachment,
        }),
      );
    }
    await waitAllSent(app, sent.map((message) => message.id), 120_000);

    const files = await settledFiles(sink, sent.length);
    assert.equal(files.length, 200, `smtp-sink wrote ${files.length} message files`);

    const byMessageId = new Map(sent.map((message) => [`<${message.id}@${SENDER_DOMAIN}>`, message]));
    const seen = new Set<string>();
    for (const file of files) {
      const dump = parseDump(file);
      const messageIds = header(dump, 'Message-ID');
      assert.equal(messageIds.length, 1, `${file}: one Message-ID`);
      const message = byMessageId.get(messageIds[0]!);
      assert.ok(message, `${file}: Message-ID ${messageIds[0]} is not one Mailroom answered`);
      assert.ok(!seen.has(message.id), `${file}: message ${message.id} arrived twice`);
      seen.add(message.id);

      assert.deepEqual(header(dump, 'To'), [message.to], `${file}: To`);
      assert.equal(header(dump, 'From').length, 1, `${file}: one From`);
      assert.match(header(dump, 'From')[0]!, new RegExp(`<${FROM.replace(/\./g, '\\.')}>$`));
      const subject = header(dump, 'Subject');
      assert.equal(subject.length, 1, `${file}: one Subject`);
      if (/^[\x20-\x7e]*$/.test(message.subject)) {
        assert.equal(subject[0], message.subject, `${file}: Subject`);
      } else {
        assert.match(subject[0]!, /^=\?utf-8\?[QB]\?/i, `${file}: a UTF-8 Subject is RFC 2047 encoded`);
        assert.match(subject[0]!, /^[\x20-\x7e]+$/, `${file}: the encoded Subject is ASCII`);
        assert.equal(decodeWords(subject[0]!), message.subject, `${file}: the Subject decodes to what was sent`);
      }
      if (message.cc.length > 0) {
        const cc = header(dump, 'Cc');
        assert.equal(cc.length, 1, `${file}: one Cc`);
        for (const address of message.cc) assert.ok(cc[0]!.includes(address), `${file}: Cc holds ${address}`);
      } else {
        assert.deepEqual(header(dump, 'Cc'), [], `${file}: no Cc`);
      }

      // Bcc: never a header, never in the content; only in the envelope.
      assert.doesNotMatch(dump.raw, /^bcc:/im, `${file}: a Bcc header was sent`);
      for (const address of message.bcc) {
        const afterEnvelope = dump.raw.slice(dump.raw.indexOf('\nReceived: '));
        assert.ok(!afterEnvelope.includes(address), `${file}: the Bcc address ${address} appears in the message`);
      }
      const mailFrom = dump.sink.filter((field) => field.name === 'X-Mail-Args').map((field) => field.value);
      assert.equal(mailFrom.length, 1);
      assert.match(mailFrom[0]!, /^<[^<>\s]+@[^<>\s]+>/, `${file}: MAIL FROM`);
      const rcpts = dump.sink
        .filter((field) => field.name === 'X-Rcpt-Args')
        .map((field) => /^<([^>]*)>/.exec(field.value)?.[1]?.toLowerCase())
        .sort();
      assert.deepEqual(rcpts, [message.to, ...message.cc, ...message.bcc].map((address) => address.toLowerCase()).sort(), `${file}: envelope recipients`);

      // Dot-stuffing survived the round trip, and the body is this message's.
      assert.ok(dump.body.includes(message.marker), `${file}: body marker`);
      assert.match(dump.body, /^\.a line that starts with a dot$/m, `${file}: a leading dot`);
      assert.match(dump.body, /^\.\.and one with two$/m, `${file}: two leading dots`);
      if (message.attachment) {
        assert.match(dump.body, /Content-Type: application\/pdf/i, `${file}: the PDF part`);
        assert.match(header(dump, 'Content-Type')[0] ?? '', /^multipart\/mixed/i, `${file}: multipart/mixed`);
      }
    }
    assert.equal(seen.size, 200);
  } finally {
    await stop();
  }
});

test("a UTF-8 subject and a PDF attachment, as relayed to smtp-sink, read back right with Python's email package", { timeout: 60_000 }, async () => {
  const python = requirePython();
  const { app, sink, stop } = await startHarness();
  try {
    const pdf = samplePdf();
    const filename = 'Übersicht März 2026.pdf';
    const id = await send(app, {
      to: 'Jörg Müller <joerg@example.com>',
      from: `Rechnungsstelle Köln <${FROM}>`,
      subject: UTF8_SUBJECT,
      text: 'Sehr geehrter Herr Müller,\nanbei die Übersicht. Grüße ✉\n',
      attachments: [{ filename, content: pdf.toString('base64'), contentType: 'application/pdf' }],
    });
    await waitAllSent(app, [id], 30_000);
    const [file] = await settledFiles(sink, 1);
    assert.ok(file);

    const script = String.raw`
import email, email.policy, hashlib, json, sys
with open(sys.argv[1], 'rb') as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
defects = [type(d).__name__ for part in msg.walk() for d in part.defects]
attachments = []
for part in msg.iter_attachments():
    data = part.get_content()
    if isinstance(data, str):
        data = data.encode('utf-8')
    attachments.append({'filename': part.get_filename(), 'contentType': part.get_content_type(), 'sha256': hashlib.sha256(data).hexdigest(), 'size': len(data)})
body = msg.get_body(preferencelist=('plain',))
print(json.dumps({
    'subject': str(msg['subject']),
    'messageId': str(msg['message-id']),
    'to': [a.addr_spec for a in msg['to'].addresses],
    'toName': [a.display_name for a in msg['to'].addresses],
    'fromName': msg['from'].addresses[0].display_name,
    'bcc': msg['bcc'],
    'contentType': msg.get_content_type(),
    'text': body.get_content() if body is not None else None,
    'attachments': attachments,
    'defects': defects,
}))
`;
    const result = spawnSync(python, ['-c', script, file], { encoding: 'utf8', env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    assert.equal(result.status, 0, `python3 failed: ${result.stderr || result.error?.message}`);
    const parsed = JSON.parse(result.stdout) as {
      subject: string;
      messageId: string;
      to: string[];
      toName: string[];
      fromName: string;
      bcc: string | null;
      contentType: string;
      text: string | null;
      attachments: { filename: string; contentType: string; sha256: string; size: number }[];
      defects: string[];
    };
    assert.equal(parsed.subject, UTF8_SUBJECT);
    assert.equal(parsed.messageId, `<${id}@${SENDER_DOMAIN}>`);
    assert.deepEqual(parsed.to, ['joerg@example.com']);
    assert.deepEqual(parsed.toName, ['Jörg Müller']);
    assert.equal(parsed.fromName, 'Rechnungsstelle Köln');
    assert.equal(parsed.bcc, null);
    assert.equal(parsed.contentType, 'multipart/mixed');
    assert.ok(parsed.text?.includes('anbei die Übersicht. Grüße ✉'), `plain text part: ${parsed.text}`);
    assert.deepEqual(parsed.defects, [], 'Python found no defects in the MIME structure');
    assert.equal(parsed.attachments.length, 1);
    assert.deepEqual(parsed.attachments[0], {
      filename,
      contentType: 'application/pdf',
      sha256: createHash('sha256').update(pdf).digest('hex'),
      size: pdf.length,
    });
  } finally {
    await stop();
  }
});
