/**
 * Interop: the embedded database really reaches the disk before a message is acknowledged.
 * PGlite on its own never fsyncs (src/db/walSync.ts), so no in-process check can tell a real
 * fdatasync from a no-op; strace, watching the kernel, can. A real Mailroom process on a PGlite
 * data directory runs under `strace -f`; a client submits a message over SMTP and, in a second
 * session, over HTTP; then the trace must show, between the reply to DATA (354) and the
 * `250 ... queued as <id>`, and between the HTTP request and its 200, an fdatasync of a file in
 * pg_wal that returned 0. The message must be in the database afterwards.
 *
 * strace comes from Debian's package of that name, installed by `.ci/run`; missing, it is a
 * failure, never a skip.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadKeyRing } from '../src/config/secrets.js';
import { Sealer } from '../src/crypto/sealed.js';
import { bootstrapAccounts } from '../src/accounts/bootstrap.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { createLogger } from '../src/shared/log.js';
import { TEST_KEY } from '../test/helpers/app.js';
import { freePort } from '../test/helpers/process.js';
import { plainToken, SmtpClient } from '../test/helpers/smtpClient.js';
import { findExecutable, INSTALL_HINT } from './peers.js';
import { CLI_ARGS } from '../test/helpers/paths.js';


let dataDir: string;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mailroom-durability-'));
  const db = await openPglite(dataDir);
  try {
    await migrate(db);
    await bootstrapAccounts(db, new Sealer(loadKeyRing({ encryptionKey: null, encryptionKeysPrevious: [], dataDir })), TEST_KEY, createLogger('silent'));
  } finally {
    await db.close();
  }
});
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** One traced syscall that finished: its thread, name, first argument (with -y, the file's path) and result. */
interface Syscall {
  index: number;
  name: string;
  argument: string;
  line: string;
  result: string;
}

/**
 * The finished syscalls of an `strace -f -y` log, in the order strace saw them finish. A call
 * interrupted by another thread's is printed twice ("<unfinished ...>", then "<... NAME
 * resumed>"); it counts where it resumed, with the arguments of its first half.
 */
function finishedSyscalls(log: string): Syscall[] {
  const calls: Syscall[] = [];
  const unfinished = new Map<string, string>();
  log.split('\n').forEach((line, index) => {
    const match = /^(\d+)\s+(.*)$/.exec(line);
    if (!match) return;
    const [, pid, rest] = match as unknown as [string, string, string];
    const resumed = /^<\.\.\. (\w+) resumed>(.*)=\s*(-?\d+.*)$/.exec(rest);
    if (resumed) {
      const start = unfinished.get(pid) ?? '';
      unfinished.delete(pid);
      const argument = /^\w+\(([^,)]*)/.exec(start)?.[1] ?? '';
      calls.push({ index, name: resumed[1]!, argument, line: `${start.replace(' <unfinished ...>', '')}${resumed[2]}`, result: resumed[3]! });
      return;
    }
    if (rest.endsWith('<unfinished ...>')) {
      unfinished.set(pid, rest);
      return;
    }
    const whole = /^(\w+)\(([^,)]*)(.*)=\s*(-?\d+.*)$/.exec(rest);
    if (whole) calls.push({ index, name: whole[1]!, argument: whole[2]!, line: rest, result: whole[4]! });
  });
  return calls;
}

function walSyncBetween(calls: Syscall[], start: number, end: number): Syscall | undefined {
  return calls.find((call) => call.index > start && call.index < end && call.name === 'fdatasync' && call.argument.includes('/pg_wal/') && call.result.startsWith('0'));
}

test('PGlite: the WAL is fdatasynced before the 250 to DATA and before the 200 to POST /emails', { timeout: 120_000 }, async (t) => {
  const strace = findExecutable('strace', process.env.MAILROOM_INTEROP_STRACE);
  assert.ok(strace, `strace is not installed: ${INSTALL_HINT}`);
  const traceFile = join(dataDir, 'strace.log');
  const httpPort = await freePort();
  const smtpPort = await freePort();
  const child = spawn(
    strace,
    ['-f', '-qq', '-y', '-s', '96', '-e', 'trace=fdatasync,fsync,write,writev', '-o', traceFile, process.execPath, ...CLI_ARGS, 'start', '--roles', 'api,smtp'],
    {
      env: {
        ...process.env,
        MAILROOM_DATABASE_URL: '',
        MAILROOM_DATA_DIR: dataDir,
        MAILROOM_HTTP_PORT: String(httpPort),
        MAILROOM_SMTP_PORT: String(smtpPort),
        MAILROOM_SMTPS_PORT: String(await freePort()),
        MAILROOM_MX_PORT: String(await freePort()),
        MAILROOM_SMTP_INSECURE_AUTH: '1',
        MAILROOM_BOOTSTRAP_API_KEY: TEST_KEY,
        MAILROOM_TRANSPORT: 'sandbox',
        MAILROOM_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const base = `http://127.0.0.1:${httpPort}`;
  const ids: string[] = [];
  try {
    const deadline = Date.now() + 90_000;
    while (!(await fetch(`${base}/readyz`).then((response) => response.ok, () => false))) {
      assert.equal(child.exitCode, null, `mailroom under strace exited early:\n${output}`);
      assert.ok(Date.now() < deadline, `mailroom under strace did not become ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const { client } = await SmtpClient.connect(`127.0.0.1:${smtpPort}`);
    assert.equal((await client.command('EHLO durability.test')).code, 250);
    assert.equal((await client.command(`AUTH PLAIN ${plainToken('apikey', TEST_KEY)}`)).code, 235);
    assert.equal((await client.command('MAIL FROM:<sender@durability.test>')).code, 250);
    assert.equal((await client.command('RCPT TO:<reader@example.com>')).code, 250);
    const { start, end } = await client.data('From: sender@durability.test\r\nTo: reader@example.com\r\nSubject: durable?\r\n\r\nOn disk first.\r\n');
    assert.equal(start.code, 354);
    assert.equal(end?.code, 250, end?.text);
    const smtpId = /queued as (\S+)/.exec(end!.text)?.[1];
    assert.ok(smtpId, end!.text);
    await client.command('QUIT');
    client.close();

    const response = await fetch(`${base}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'reader@example.com', from: 'sender@durability.test', subject: 'durable over HTTP?', text: 'On disk first.' }),
    });
    const body = (await response.json()) as { data: { id: string } };
    assert.equal(response.status, 200, JSON.stringify(body));
    ids.push(smtpId, body.data.id);
  } finally {
    // strace runs Node as its child: signal Node, and strace exits with it.
    const node = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    if (node) process.kill(Number(node), 'SIGTERM');
    else child.kill('SIGTERM');
    await exited;
  }

  const log = readFileSync(traceFile, 'utf8');
  const calls = finishedSyscalls(log);
  const replyTo = (pattern: RegExp) => calls.find((call) => (call.name === 'write' || call.name === 'writev') && call.argument.includes('socket:') && pattern.test(call.line));
  const dataReply = replyTo(/"354 /);
  const queued = replyTo(/"250 2\.0\.0 Ok: queued as /);
  assert.ok(dataReply && queued, `the trace shows the SMTP replies (354: ${Boolean(dataReply)}, 250: ${Boolean(queued)}); ${calls.length} syscalls traced`);
  const smtpSync = walSyncBetween(calls, dataReply.index, queued.index);
  assert.ok(smtpSync, `an fdatasync of a WAL file returned between the 354 and the 250:\n${log.split('\n').slice(dataReply.index, queued.index + 1).join('\n')}`);
  t.diagnostic(`SMTP: ${smtpSync.line}`);

  // The first 200 written after the SMTP session is the answer to POST /emails (sent next).
  const httpOk = calls.find((call) => call.index > queued.index && call.argument.includes('socket:') && /"HTTP\/1\.1 200 /.test(call.line));
  assert.ok(httpOk, 'the trace shows the 200 to POST /emails');
  const httpSync = walSyncBetween(calls, queued.index, httpOk.index);
  assert.ok(httpSync, 'an fdatasync of a WAL file returned between the SMTP 250 and the 200 to POST /emails');

  const db = await openPglite(dataDir);
  try {
    const rows = await db.query<{ id: string; status: string }>('SELECT id, status FROM messages ORDER BY id');
    assert.deepEqual(rows.map((row) => [row.id, row.status]), ids.sort().map((id) => [id, 'QUEUED']));
  } finally {
    await db.close();
  }
});
