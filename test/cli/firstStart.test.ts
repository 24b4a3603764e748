import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort } from '../helpers/process.js';
import { CLI_ARGS } from '../helpers/paths.js';

const KEY_LINE = /^ {4}(mr_\S+)$/m;

interface Started { code: Promise<number | string>; output: () => { stdout: string; stderr: string }; stop: () => Promise<number | string> }

/** Every process started, killed at the end: a failed assertion must not leave one holding the data directory for the next test. */
const children: ChildProcess[] = [];

/** `mailroom start` as a user runs it on a fresh installation: no bootstrap key configured. */
function start(store: TestStore, ports: Record<string, string>): Started {
  const child = spawn(process.execPath, [...CLI_ARGS, 'start', '--roles', 'api,worker'], {
    env: { ...process.env, ...store.env, ...ports, MAILROOM_LOG_LEVEL: 'warn', MAILROOM_BOOTSTRAP_API_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = new Promise<number | string>((resolve) => child.on('exit', (exit, signal) => resolve(exit ?? signal ?? -1)));
  return { code, output: () => ({ stdout, stderr }), stop: () => (child.kill('SIGTERM'), code) };
}

async function until(what: string, check: () => boolean | Promise<boolean>, started: Started): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}: ${JSON.stringify(started.output())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function ready(url: string, started: Started): Promise<void> {
  return until('mailroom to answer', () => fetch(`${url}/readyz`).then((response) => response.ok, () => false), started);
}

let store: TestStore;
let blocker: Server;
let port: number;
before(async () => {
  store = await createTestStore();
  port = await freePort();
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
});
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  blocker.close();
  await store.dispose();
});

test('a first start that cannot listen says which setting in one line, and the next start still prints the first key', async () => {
  const ports = { MAILROOM_HTTP_PORT: String(port) };
  const failed = start(store, ports);
  assert.equal(await failed.code, 1, 'a start whose port is taken exits with 1');
  const { stdout, stderr } = failed.output();
  assert.equal(stderr.trimEnd().split('\n').length, 1, `one line, not a stack trace: ${stderr}`);
  assert.match(stderr, new RegExp(`^mailroom: 127\\.0\\.0\\.1:${port} \\(MAILROOM_HTTP_PORT\\) is already in use .*set MAILROOM_HTTP_PORT to another port`));
  assert.doesNotMatch(stdout, KEY_LINE, 'no key is printed by a start that failed');

  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  const first = start(store, ports);
  await ready(`http://127.0.0.1:${port}`, first);
  // Printed once startMailroom returns, which may be a moment after /readyz first answers.
  let key: string | undefined;
  await until('the first successful start to print the key', () => (key = KEY_LINE.exec(first.output().stdout)?.[1]) !== undefined, first);
  const account = await fetch(`http://127.0.0.1:${port}/account`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(account.status, 200, 'the printed key works');
  assert.equal(await first.stop(), 0, 'SIGTERM stops it cleanly');

  const second = start(store, ports);
  await ready(`http://127.0.0.1:${port}`, second);
  assert.equal(await second.stop(), 0);
  assert.doesNotMatch(second.output().stdout, KEY_LINE, 'a key is printed by one start only');
});

test('an address that is not this machine\'s names the host setting', async () => {
  const failed = start(store, { MAILROOM_HTTP_PORT: String(await freePort()), MAILROOM_HOST: '192.0.2.1' });
  assert.equal(await failed.code, 1);
  const { stderr } = failed.output();
  assert.match(stderr, /^mailroom: 192\.0\.2\.1:\d+ \(MAILROOM_HTTP_PORT\) cannot be opened.*set MAILROOM_HOST to an address of this machine\.\n$/);
});
