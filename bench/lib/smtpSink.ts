import { spawn } from 'node:child_process';
import { onCleanup } from './cleanup.js';
import { freePort } from './processes.js';

/**
 * Postfix's `smtp-sink` on a loopback port, counting what it accepts: with -c it prints
 * "sess=N quit=N mesg=N" after every message, which is read here as the delivered count.
 */
export async function startCountingSink(): Promise<{ port: number; delivered(): number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('/usr/sbin/smtp-sink', ['-u', process.getuid?.() === 0 ? 'root' : 'nobody', '-c', '-m', '1000', `127.0.0.1:${port}`, '1000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let count = 0;
  let tail = '';
  child.stdout.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('latin1')).slice(-200);
    const matches = [...tail.matchAll(/mesg=(\d+)/g)];
    const last = matches[matches.length - 1];
    if (last) count = Number(last[1]);
  });
  const stop = onCleanup(() => {
    child.kill('SIGKILL');
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (child.exitCode !== null) throw new Error(`smtp-sink exited at once (is postfix installed? apt-get install postfix)`);
  return { port, delivered: () => count, stop };
}

/** Resolves when `count()` reaches `target`; rejects after `timeoutMs` without progress. */
export async function waitForCount(count: () => number, target: number, timeoutMs = 60_000, intervalMs = 20): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  while (count() < target) {
    if (count() !== last) {
      last = count();
      lastChange = Date.now();
    } else if (Date.now() - lastChange > timeoutMs) {
      throw new Error(`stuck at ${last} of ${target} for ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
