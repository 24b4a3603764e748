import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invocation } from './args.js';

/** The repository root (benchmarks spawn dist/cli/main.js from there). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `npm run build`, timed, so that the processes measured run the code of this checkout. */
export function buildDist(): void {
  const started = Date.now();
  process.stdout.write('building dist/ (npm run build) ... ');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) {
    console.log('failed');
    throw new Error(`npm run build failed (--no-build runs dist/ as it is):\n${result.stdout}${result.stderr}`);
  }
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The line every benchmark prints first about the machine: cores, memory, Node, load. */
export function machineLine(): string {
  return (
    `machine: nproc ${availableParallelism()} (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ` +
    `load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`
  );
}

/** The first lines of a benchmark's report (its name and start, the command, the machine): the command and the start. */
export function printPreamble(name: string, args: readonly string[]): { command: string; started: Date } {
  const command = invocation([name, ...args]);
  const started = new Date();
  console.log(`${name} benchmark, ${started.toISOString()}`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  return { command, started };
}
