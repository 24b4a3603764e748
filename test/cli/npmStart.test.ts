import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { TEST_KEY } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { freePort, prepareStore } from '../helpers/process.js';

// `npm start` exactly as the README says, so the built server (dist/, which `npm install` and
// `npm ci` build) is what runs.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let store: TestStore;
before(async () => {
  assert.ok(existsSync(`${ROOT}dist/cli/main.js`), 'dist/ is not built: run npm run build');
  store = await createTestStore();
  await prepareStore(store);
});
after(() => store.dispose());

/** Linux: the processes whose parent is `pid` (field 4 of /proc/PID/stat, after the command's parentheses). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((name) => {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false; // exited meanwhile
    }
  }).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts `npm start`, waits until Mailroom answers, and returns npm's and Mailroom's process ids. */
async function npmStart(port: number): Promise<{ npm: number; server: number; output: () => string }> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, ...store.env, MAILROOM_HTTP_PORT: String(port), MAILROOM_ROLES: 'api,worker', MAILROOM_BOOTSTRAP_API_KEY: TEST_KEY, MAILROOM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until('Mailroom to answer', () => fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.ok, () => false));
  const [server] = childrenOf(child.pid!);
  assert.ok(server, `npm started a process: ${output.slice(0, 500)}`);
  return { npm: child.pid!, server, output: () => output };
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`npm start stopped with ${signal} stops Mailroom: no server left holding the port and the data directory`, async () => {
    const port = await freePort();
    const started = await npmStart(port);
    process.kill(started.npm, signal);
    await until('the server process to exit', () => !alive(started.server), 30_000);
    assert.match(started.output(), /"msg":"stopped"/, 'it stopped gracefully, finishing its work');
    const refused = await fetch(`http://127.0.0.1:${port}/readyz`).then(() => false, () => true);
    assert.ok(refused, 'the port is released');
  });
}
