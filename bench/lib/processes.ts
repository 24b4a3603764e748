import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { onCleanup } from './cleanup.js';

/** A port that was free a moment ago (the OS picks it; the race with other processes is negligible). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output is kept (the last lines) for error reports. */
export class Child {
  readonly exited: Promise<Exit>;
  private exit: Exit | null = null;
  private readonly tail: string[] = [];
  private lines = 0;
  private readonly unregister: () => Promise<void>;

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      process.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    for (const stream of [process.stdout, process.stderr]) {
      stream?.setEncoding('utf8');
      let partial = '';
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.keep(line);
      });
      stream?.on('end', () => partial && this.keep(partial));
    }
    this.unregister = onCleanup(() => this.kill());
  }

  private keep(line: string): void {
    this.lines++;
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
  }

  get running(): boolean {
    return this.exit === null;
  }

  /** Lines the child printed, and its last ones. */
  output(): { lines: number; tail: string[] } {
    return { lines: this.lines, tail: [...this.tail] };
  }

  describeOutput(): string {
    const { lines, tail } = this.output();
    if (lines === 0) return `${this.name} printed nothing`;
    return `${this.name} printed ${lines} line(s)${lines > tail.length ? `, the last ${tail.length}` : ''}:\n  ${tail.join('\n  ')}`;
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 60_000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    await this.unregister();
    return exit;
  }

  private async kill(): Promise<void> {
    if (this.exit) return;
    this.process.kill('SIGKILL');
    await this.exited;
  }
}

export function startChild(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Child {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Child(name, child);
}

/** Polls `url` until it answers 200; fails early if the child exits. */
export async function waitForOk(url: string, child: Child, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (!child.running) {
      const exit = await child.exited;
      throw new Error(`${child.name} exited (code ${exit.code}, signal ${exit.signal}) before ${url} answered.\n${child.describeOutput()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s.\n${child.describeOutput()}`);
}

/** Mailroom's children get no MAILROOM_* setting from the caller's environment, only the bench's. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MAILROOM_')) env[name] = value;
  return { ...env, ...extra };
}
