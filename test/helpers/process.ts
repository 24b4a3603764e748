import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { bootstrapAccounts } from '../../src/accounts/bootstrap.js';
import { requireAccount } from '../../src/accounts/accounts.js';
import { migrate } from '../../src/db/migrate.js';
import { addDomain } from '../../src/domains/domains.js';
import { createLogger } from '../../src/shared/log.js';
import { TEST_KEY } from './app.js';
import { sealerOf, type TestStore } from './database.js';
import { CLI_ARGS } from './paths.js';


export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Prepares a store for child processes: schema, the default account with TEST_KEY, verified
 * sender domains; its secrets sealed with `encryptionKey`, the MAILROOM_ENCRYPTION_KEY the
 * processes will be given (none: the key they generate into the data directory).
 */
export async function prepareStore(store: TestStore, verifiedDomains: string[] = [], encryptionKey: Buffer | null = null): Promise<void> {
  const db = await store.open();
  try {
    await migrate(db);
    const secrets = sealerOf(store, encryptionKey);
    await bootstrapAccounts(db, secrets, TEST_KEY, createLogger('silent'));
    const account = await requireAccount(db, 'default');
    for (const domain of verifiedDomains) await addDomain(db, secrets, account.id, domain, { verified: true });
  } finally {
    await db.close();
  }
}

export interface MailroomProcess {
  child: ChildProcess;
  url: string | null;
  output: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Runs `mailroom start` as a real process and waits until it is ready. */
export async function spawnMailroom(env: Record<string, string>, roles: string): Promise<MailroomProcess> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [...CLI_ARGS, 'start', '--roles', roles], {
    env: {
      ...process.env,
      MAILROOM_HTTP_PORT: String(port),
      MAILROOM_BOOTSTRAP_API_KEY: TEST_KEY,
      MAILROOM_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = roles.split(',').includes('api') ? `http://127.0.0.1:${port}` : null;
  const ready = url ? `${url}/readyz` : null;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mailroom exited early (${child.exitCode}):\n${output}`);
    if (ready) {
      const ok = await fetch(ready).then((response) => response.ok, () => false);
      if (ok) break;
    } else if (/delivery worker started/.test(output)) {
      break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mailroom did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url, output: () => output, exited };
}

/** Runs one `mailroom ...` command line to its end. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      env: { ...process.env, MAILROOM_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
