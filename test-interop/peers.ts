/**
 * Outside peers for the interop suite: postfix's `smtp-sink` started on a free loopback port with
 * every accepted message dumped to a file of its own. Shared by the relay and mx interop tests.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { eventually } from '../test/helpers/app.js';

export const INSTALL_HINT = 'the interop peers are installed by `bash .ci/run` (Debian packages postfix, swaks, python3-dkim, strace); run it, or install them the same way';

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * An executable by name on PATH or in the sbin folders (smtp-sink lives in /usr/sbin, often not
 * on a user's PATH); `override` (a path from the environment) replaces the search.
 */
export function findExecutable(name: string, override: string | undefined): string | null {
  if (override) return isExecutable(override) ? override : null;
  const folders = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'].filter(Boolean);
  return folders.map((folder) => join(folder, name)).find(isExecutable) ?? null;
}

export function requireSmtpSink(): string {
  const path = findExecutable('smtp-sink', process.env.MAILROOM_INTEROP_SMTP_SINK);
  assert.ok(path, `smtp-sink (from Postfix) is not installed: ${INSTALL_HINT}`);
  return path;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves with the server's greeting line once something answers SMTP on the port. */
export function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('no greeting')));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) {
        socket.end('QUIT\r\n');
        resolve(data.split(/\r?\n/)[0]!);
      }
    });
    socket.on('error', reject);
  });
}

export interface Sink {
  port: number;
  dir: string;
  url: string;
  /** Every dump file the sink has written so far. */
  files(): string[];
  stop(): Promise<void>;
}

/** Starts `smtp-sink -d <dir>/%M.` on a free loopback port and waits for its 220 greeting. */
export async function startSink(): Promise<Sink> {
  const binary = requireSmtpSink();
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-smtp-sink-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // smtp-sink insists on -u (the user to run as) when started as root; -m bounds its connections.
    const privileges = process.getuid?.() === 0 ? ['-u', 'root'] : ['-u', userInfo().username];
    const child: ChildProcess = spawn(binary, [...privileges, '-m', '64', '-d', join(dir, '%M.'), `127.0.0.1:${port}`, '100'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let failure: string | null = null;
    child.once('error', (error) => (failure ??= error.message));
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        failure ??= `exited with ${code ?? signal}`;
        resolve();
      }),
    );
    // Its greeting names it ("220 smtp-sink ESMTP"), so a stranger that took the port is not mistaken for it.
    let banner: string | null = null;
    const deadline = Date.now() + 10_000;
    while (failure === null && Date.now() < deadline) {
      banner = await greeting(port).catch(() => null);
      if (banner !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (failure === null && banner !== null && /^220 smtp-sink\b/.test(banner)) {
      return {
        port,
        dir,
        url: `smtp://127.0.0.1:${port}?starttls=off`,
        files: () => readdirSync(dir).sort().map((name) => join(dir, name)),
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            await exited;
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3) {
      rmSync(dir, { recursive: true, force: true });
      assert.fail(`smtp-sink (${binary}) did not start on 127.0.0.1:${port}: ${failure ?? `greeting ${JSON.stringify(banner)}`} ${stderr.trim()}`);
    }
  }
}

/**
 * SENT means smtp-sink answered 250 to the final dot; wait until it has written `count` dump files
 * and their sizes hold still between two looks, so that no file is read half-written.
 */
export async function settledFiles(sink: Sink, count: number): Promise<string[]> {
  let previous = '';
  return eventually(
    async () => {
      const files = sink.files();
      if (files.length < count) return undefined;
      const sizes = files.map((file) => `${file}:${statSync(file).size}`).join('\n');
      const settled = sizes === previous;
      previous = sizes;
      return settled ? files : undefined;
    },
    15_000,
    `${count} dump files from smtp-sink`,
  );
}

