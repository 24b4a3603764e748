import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_KEY } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { dotStuff, SmtpClient, type Reply } from '../helpers/smtpClient.js';
import { seededRandom as random } from '../helpers/random.js';

/**
 * SPEC section 3 ("a 200 means the message is durably stored"), for the SMTP door: no `250` is
 * ever sent to DATA for a message that was not stored. Twenty connections submit messages (one to
 * three recipients, some of a few hundred kilobytes) to a real Mailroom process, which is SIGKILLed
 * at a random moment just after some client has sent the final "." of a message, with others in
 * the middle of their DATA. A Mailroom on the same store must then show every message that was
 * answered `250 ... queued as ID...`, one row per recipient, QUEUED (no worker runs). Every `250`
 * the clients read counts, including one read after the kill signal: it was sent.
 * SMTP_CRASH_SEED replays a run's choices (the kill point and each client's messages; the
 * interleaving of the clients is the machine's).
 */
const CONNECTIONS = 20;
const seed = Number(process.env.SMTP_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));


interface Acknowledged {
  subject: string;
  recipients: string[];
  ids: string[];
  reply: string;
}

interface EmailView {
  id: string;
  to: string;
  status: string;
  subject: string;
  submittedBy: string;
}

let store: TestStore;
before(async () => {
  store = await createTestStore();
  await prepareStore(store);
});
after(async () => {
  await store.dispose();
});

function message(subject: string, recipients: string[], bodyBytes: number, marker: string): string {
  const lines = [
    'From: Crash Test <a@example.com>',
    `To: ${recipients.join(', ')}`,
    `Subject: ${subject}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `marker ${marker}`,
    '.a line that starts with a dot',
  ];
  let size = 0;
  for (let index = 0; size < bodyBytes; index++) {
    const line = `${marker} line ${index} `.padEnd(76, 'x');
    lines.push(line);
    size += line.length + 2;
  }
  return `${lines.join('\r\n')}\r\n`;
}

const QUEUED_AS = /^2\.0\.0 Ok: queued as ((?:[^\s]+)(?: [^\s]+)*)$/;

test('SIGKILL during DATA: every message answered 250 is stored, with one row per recipient', { timeout: 90_000 }, async (t) => {
  t.diagnostic(`SMTP_CRASH_SEED=${seed}`);
  const next = random(seed);
  const smtpPort = await freePort();
  const env = {
    ...store.env,
    MAILROOM_SMTP_PORT: String(smtpPort),
    MAILROOM_SMTPS_PORT: String(await freePort()),
    MAILROOM_SMTP_MAX_CONNECTIONS_PER_IP: '200',
    MAILROOM_TRANSPORT: 'sandbox',
  };
  const first = await spawnMailroom(env, 'api,smtp');
  let firstExited = false;
  void first.exited.then(() => (firstExited = true));
  try {
    // /readyz answers once the HTTP API listens, which is before the SMTP listeners are up.
    const deadline = Date.now() + 30_000;
    while (!/Mailroom SMTP submission listening/.test(first.output())) {
      assert.ok(Date.now() < deadline && !firstExited, `the SMTP listener did not come up:\n${first.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const created = await fetch(`${first.url}/smtp-credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'ip', address: '127.0.0.1', name: 'crash test' }),
    });
    assert.equal(created.status, 201, await created.clone().text());

    // The kill: once this many messages are acknowledged, the first client to send a final "."
    // while enough others are also waiting for the reply to theirs kills the process 0 to 3 ms
    // later (a random moment inside the window between the final dot and the reply).
    const killAfter = 40 + Math.floor(next() * 120);
    const killWhenAwaiting = 2 + Math.floor(next() * 5);
    const killDelayMs = Math.floor(next() * 4);
    t.diagnostic(`kill after ${killAfter} acknowledged messages, with ${killWhenAwaiting} final dots unanswered, ${killDelayMs} ms after the last`);

    const acknowledged: Acknowledged[] = [];
    /** Every message whose DATA was started: its subject and how many recipients it had. */
    const attempted = new Map<string, number>();
    const unexpected: string[] = [];
    let killSent = false;
    let droppedAfterDot = 0; // final "." sent, connection gone without any reply
    let droppedElsewhere = 0;
    let sentDots = 0;
    let awaitingReply = 0;
    const startedAt = Date.now();
    let killedAt = 0;
    const kill = (): void => {
      if (killSent) return;
      killSent = true;
      killedAt = Date.now();
      setTimeout(() => first.child.kill('SIGKILL'), killDelayMs);
    };
    // A safety net: a run that never reaches the kill point still ends (and then fails below).
    const backstop = setTimeout(() => {
      t.diagnostic('backstop kill: the kill point was not reached in 20 s');
      kill();
    }, 20_000);

    const submission = `127.0.0.1:${smtpPort}`;
    const clientLoop = async (clientIndex: number): Promise<void> => {
      // Each client draws from its own generator, so that a seed replays its messages too.
      const draw = random(seed + 1 + clientIndex);
      let sequence = 0;
      while (!killSent && !firstExited) {
        let client: SmtpClient;
        try {
          const connected = await SmtpClient.connect(submission);
          client = connected.client;
          if (connected.greeting.code !== 220) unexpected.push(`greeting: ${connected.greeting.text}`);
        } catch (error) {
          if (!killSent) unexpected.push(`client ${clientIndex}: could not connect before the kill: ${String(error)}`);
          return;
        }
        let stage = 'EHLO';
        try {
          const ehlo = await client.command('EHLO crash.example');
          if (ehlo.code !== 250) unexpected.push(`EHLO: ${ehlo.text}`);
          // A few messages per connection, then a fresh connection.
          for (let perConnection = 0; perConnection < 5 && !killSent; perConnection++) {
            const subject = `crash c${clientIndex} m${sequence++} ${seed}`;
            const count = 1 + Math.floor(draw() * 3);
            const recipients = Array.from({ length: count }, (_unused, k) => `r${clientIndex}-${sequence}-${k}@example.org`);
            // Some of a few hundred kilobytes, so that a kill can also find the server reading a body.
            const large = draw() < 0.15;
            const raw = message(subject, recipients, large ? 100_000 + Math.floor(draw() * 300_000) : 500 + Math.floor(draw() * 4_000), `${clientIndex}-${sequence}`);
            stage = 'MAIL';
            const mail = await client.command('MAIL FROM:<a@example.com>');
            if (mail.code !== 250) {
              unexpected.push(`MAIL: ${mail.text}`);
              return;
            }
            stage = 'RCPT';
            for (const recipient of recipients) {
              const rcpt = await client.command(`RCPT TO:<${recipient}>`);
              if (rcpt.code !== 250) {
                unexpected.push(`RCPT: ${rcpt.text}`);
                return;
              }
            }
            stage = 'DATA';
            const start = await client.command('DATA');
            if (start.code !== 354) {
              unexpected.push(`DATA: ${start.text}`);
              return;
            }
            attempted.set(subject, recipients.length);
            client.write(dotStuff(raw));
            client.write('.\r\n');
            sentDots++;
            awaitingReply++;
            stage = 'dot';
            if (acknowledged.length >= killAfter && awaitingReply >= killWhenAwaiting) kill();
            let end: Reply;
            try {
              end = await client.read(15_000);
            } catch (error) {
              droppedAfterDot++;
              throw error;
            } finally {
              awaitingReply--;
            }
            const last = end.lines.at(-1) ?? '';
            const match = QUEUED_AS.exec(last);
            if (end.code !== 250 || !match) {
              // Anything but 250 is fine for durability, but nothing else is expected in this run.
              unexpected.push(`end of DATA: ${end.text}`);
              continue;
            }
            acknowledged.push({ subject, recipients, ids: match[1]!.split(' '), reply: end.text });
          }
          await client.command('QUIT').catch(() => undefined);
        } catch {
          if (stage !== 'dot') droppedElsewhere++;
          if (!killSent) unexpected.push(`client ${clientIndex}: connection lost at ${stage} before the kill`);
          return;
        } finally {
          client.close();
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_unused, index) => clientLoop(index)));
    clearTimeout(backstop);
    kill(); // if every client stopped early (and the run fails below), the process still dies
    assert.equal(await first.exited, 'SIGKILL', `Mailroom died by the kill:\n${first.output().slice(-3000)}`);

    t.diagnostic(
      `acknowledged ${acknowledged.length} messages (${acknowledged.reduce((sum, entry) => sum + entry.ids.length, 0)} recipients) of ${sentDots} final dots; ` +
        `at the kill: ${droppedAfterDot} awaiting the reply to the final dot (the server still reading the body, or storing it), ${droppedElsewhere} between commands; ` +
        `submitting took ${killedAt - startedAt} ms`,
    );
    assert.deepEqual(unexpected, [], 'nothing but 250s before the kill');
    assert.ok(acknowledged.length >= killAfter, `${acknowledged.length} messages acknowledged, the kill point was ${killAfter}`);
    assert.ok(droppedAfterDot >= 1, 'at least one message had its final "." sent and no reply when the process died (the window is covered)');
    for (const entry of acknowledged) {
      assert.equal(entry.ids.length, entry.recipients.length, `one id per recipient in "${entry.reply}"`);
      assert.equal(new Set(entry.ids).size, entry.ids.length, `distinct ids in "${entry.reply}"`);
    }

    // The same store, a new process: the dead one's PGlite lock goes stale (spawnMailroom waits).
    const restartAt = Date.now();
    const second: MailroomProcess = await spawnMailroom(store.env, 'api');
    t.diagnostic(`the restart took ${Date.now() - restartAt} ms`);
    try {
      const missing: string[] = [];
      const wrong: string[] = [];
      const checks = acknowledged.flatMap((entry) => entry.ids.map((id, index) => ({ id, entry, recipient: entry.recipients[index]! })));
      for (let start = 0; start < checks.length; start += 25) {
        await Promise.all(
          checks.slice(start, start + 25).map(async ({ id, entry, recipient }) => {
            const response = await fetch(`${second.url}/emails/${id}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
            if (response.status !== 200) {
              missing.push(`${id} (${entry.subject}, to ${recipient}): GET answered ${response.status}`);
              return;
            }
            const { data } = (await response.json()) as { data: EmailView };
            if (data.status !== 'QUEUED' || data.to !== recipient || data.subject !== entry.subject || data.submittedBy !== 'smtp') {
              wrong.push(`${id}: ${JSON.stringify({ status: data.status, to: data.to, subject: data.subject, submittedBy: data.submittedBy })}, expected QUEUED to ${recipient} "${entry.subject}"`);
            }
          }),
        );
      }
      assert.deepEqual(missing, [], 'every acknowledged id is stored');
      assert.deepEqual(wrong, [], 'every acknowledged id is QUEUED, to its own recipient');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }

    // Whole messages only: an acknowledged message has exactly its recipients' rows, and one that
    // was in flight is stored whole or not at all (a partial store would mail some recipients
    // twice when the client tries again).
    const db = await store.open();
    try {
      const rows = await db.query<{ subject: string; n: number | string }>(
        `SELECT subject, count(*) AS n FROM messages WHERE subject LIKE 'crash c%' GROUP BY subject`,
      );
      const stored = new Map(rows.map((row) => [row.subject, Number(row.n)]));
      for (const entry of acknowledged) assert.equal(stored.get(entry.subject), entry.recipients.length, `rows of "${entry.subject}"`);
      const acknowledgedSubjects = new Set(acknowledged.map((entry) => entry.subject));
      const unacknowledged = [...stored.entries()].filter(([subject]) => !acknowledgedSubjects.has(subject));
      t.diagnostic(`${unacknowledged.length} messages were stored without their 250 reaching the client (allowed)`);
      for (const [subject, n] of unacknowledged) {
        assert.equal(n, attempted.get(subject), `"${subject}", not acknowledged, is stored whole (${n} rows) or not at all`);
      }
      const [queued] = await db.query<{ n: number | string }>(`SELECT count(*) AS n FROM queue`);
      const total = [...stored.values()].reduce((sum, n) => sum + n, 0);
      assert.equal(Number(queued!.n), total, 'every stored row is in the queue');
    } finally {
      await db.close();
    }
  } finally {
    if (!firstExited) first.child.kill('SIGKILL');
    await first.exited;
  }
});
