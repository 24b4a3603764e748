import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSnapshot, cpuSplit, formatSplit, perRequestUs, type CpuSplit } from './cpu.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './cpuProfile.js';
import { load, type LoadOptions, type LoadResult } from './load.js';
import { ROOT } from './preamble.js';
import { childEnv, freePort, startChild, waitForOk, type Child } from './processes.js';

/**
 * One closed-loop HTTP measurement against a running server: a warm-up, then the measured run,
 * with the machine's CPU split over the measured run (the server's own share by its pid).
 */
export interface Measured {
  warmup: LoadResult;
  result: LoadResult;
  cpu: CpuSplit | null;
}

export interface MeasureTimes {
  warmupSeconds: number;
  seconds: number;
}

/** What is measured: the server process, and how its work is counted. */
export interface MeasureTarget {
  server: Child;
  /** The server in the CPU line ("mailroom", "echo server"). */
  name: string;
  /** What the server did for the answers of a run (default: the 2xx answers): messages rather than requests, when one request carries many. */
  units?: (result: LoadResult) => number;
  /**
   * The PostgreSQL backends serving the server (asked before and after the measured run): only
   * their CPU counts as PostgreSQL's, not that of other databases' sessions on a shared server.
   */
  postgresBackends?: () => Promise<number[]>;
}

/** Warm-up, then the measured run, printing a line for each and the CPU split. */
export async function warmAndMeasure(common: Omit<LoadOptions, 'seconds'>, times: MeasureTimes, target: MeasureTarget): Promise<Measured> {
  const units = target.units ?? ((result: LoadResult) => result.ok);
  process.stdout.write(`  warm-up ${times.warmupSeconds} s ... `);
  const warmup = await load({ ...common, seconds: times.warmupSeconds });
  console.log(`${Math.round(warmup.okPerSecond)}/s`);
  const backends = new Set(target.postgresBackends ? await target.postgresBackends() : []);
  process.stdout.write(`  measuring ${times.seconds} s with ${common.connections} connections ... `);
  const before = cpuSnapshot();
  const result = await load({ ...common, seconds: times.seconds });
  const after = cpuSnapshot();
  if (target.postgresBackends) for (const pid of await target.postgresBackends()) backends.add(pid);
  const cpu = cpuSplit(before, after, target.server.process.pid, target.postgresBackends ? backends : undefined);
  console.log(`${Math.round(result.okPerSecond)}/s, p50 ${result.latency.p50.toFixed(1)} ms, p99 ${result.latency.p99.toFixed(1)} ms, non-2xx ${result.non2xx}, errors ${result.errors}`);
  console.log(`  ${formatSplit(cpu, target.name)}${target.postgresBackends ? ` (postgres: the ${backends.size} backends of its database)` : ''}`);
  if (cpu) {
    const us = (cores: number) => `${perRequestUs(cores, cpu, units(result)).toFixed(0)} µs`;
    console.log(`  cpu per unit answered: server ${us(cpu.server)}, postgres ${us(cpu.postgres)}, load generator ${us(cpu.loadGenerator)}`);
  }
  return { warmup, result, cpu };
}

/** What a measurement leaves to be said: answers other than 2xx, connection errors, a busy machine. */
export function measurementProblems({ warmup, result, cpu }: Measured): string[] {
  const problems: string[] = [];
  for (const run of [warmup, result]) {
    if (run.non2xx > 0) problems.push(`non-2xx responses: ${JSON.stringify(run.statusCodes)}`);
    if (run.errors > 0) problems.push(`${run.errors} connection errors (${run.timeouts} time-outs)`);
  }
  if (cpu && cpu.other > 0.25) {
    problems.push(`other processes used ${cpu.other.toFixed(2)} cores during the measured run: the machine was not quiet, so this rate is understated`);
  }
  return problems;
}

/** Node 20 refuses --cpu-prof in NODE_OPTIONS: a profiled child gets it on its command line. */
export function profileFlags(dir: string | null): string[] {
  if (dir === null) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** The main-thread profile a stopped child wrote into `dir`, summed over the measured window. */
export function profileReport(dir: string, result: LoadResult, units = result.okInWindow): string {
  const file = mainThreadProfile(dir);
  return file ? formatProfile(summarizeProfile(file, ROOT, result.monotonicWindowUs), ROOT, units) : `no .cpuprofile written in ${dir}`;
}

/**
 * The reference of the HTTP benchmarks, measured: the bare Fastify echo route of
 * lib/echoServer.ts as a child process, under the given load (its url's path is kept).
 */
export async function measureEchoRoute(common: Omit<LoadOptions, 'seconds' | 'url'> & { path: string }, times: MeasureTimes, profileDir: string | null = null): Promise<Measured & { profile?: string }> {
  const port = await freePort();
  const args = [...profileFlags(profileDir), '--import', 'tsx', join(ROOT, 'bench/lib/echoServer.ts'), String(port)];
  const child = startChild('echo server', process.execPath, args, { cwd: ROOT, env: childEnv({}) });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForOk(`${base}/readyz`, child, 30_000);
    const { path, ...rest } = common;
    const measured = await warmAndMeasure({ ...rest, url: `${base}${path}` }, times, { server: child, name: 'echo server' });
    await child.stop();
    return profileDir === null ? measured : { ...measured, profile: profileReport(profileDir, measured.result) };
  } finally {
    await child.stop();
  }
}
