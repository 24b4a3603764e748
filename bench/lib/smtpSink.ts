import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { onCleanup } from './cleanup.js';
import { MessageCounter } from './messageCounter.js';
import { freePort } from './processes.js';

/**
 * Postfix's real `smtp-sink` on a loopback port, counting what it accepts. With -c it rewrites a
 * status line "sess=N quit=N mesg=N" (ended by CR) every time a session ends, QUIT arrives or a
 * message's final "." is received; the last mesg= value is the number of messages received.
 */
export interface CountingSink {
  port: number;
  pid: number;
  /** Messages received since the sink started. */
  count(): number;
  /**
   * Resolves when `more` messages beyond the current count have arrived, with the times
   * (performance.now()) of the first and the last of them; rejects when nothing arrives for
   * `stallMs`.
   */
  track(more: number, stallMs: number): Promise<{ firstAt: number; doneAt: number }>;
  stop(): Promise<void>;
}

const SMTP_SINK = '/usr/sbin/smtp-sink';

export async function startCountingSink(maxConnections = 1000): Promise<CountingSink> {
  if (!existsSync(SMTP_SINK)) throw new Error(`${SMTP_SINK} is missing: apt-get install postfix`);
  const port = await freePort();
  // As root, smtp-sink insists on -u: it drops to that user after binding.
  const user = process.getuid?.() === 0 ? ['-u', 'postfix'] : [];
  const args = [...user, '-c', '-m', String(maxConnections), `127.0.0.1:${port}`, String(maxConnections)];
  const child = spawn(SMTP_SINK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const counter = new MessageCounter('smtp-sink');
  let carry = '';
  let stderr = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => {
    const text = carry + chunk;
    const end = text.lastIndexOf('\r');
    if (end === -1) {
      carry = text.slice(-200);
      return;
    }
    carry = text.slice(end + 1);
    const at = text.lastIndexOf('mesg=', end);
    if (at === -1) return;
    counter.update(Number(text.slice(at + 5, end)));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (child.exitCode !== null || child.pid === undefined) throw new Error(`smtp-sink exited at once: ${stderr.trim()}`);
  return {
    port,
    pid: child.pid,
    count: () => counter.count,
    track: (more, stallMs) => counter.track(more, stallMs),
    stop,
  };
}
