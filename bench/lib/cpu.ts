import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * Where the machine's CPU went during a measured run (Linux /proc; elsewhere nothing is
 * reported). On a small machine the load generator, the server and PostgreSQL share the cores,
 * so a rate only means something next to this split: a server at one full core is CPU-bound, a
 * server with idle time is waiting on something.
 */
const TICKS_PER_SECOND = 100; // USER_HZ, fixed at 100 on Linux

interface Snapshot {
  at: number;
  busy: number;
  idle: number;
  self: NodeJS.CpuUsage;
  processes: Map<number, { comm: string; ticks: number }>;
}

export interface CpuSplit {
  cores: number;
  /** Length of the period, seconds. */
  seconds: number;
  /** Cores used, on average over the run. */
  server: number;
  loadGenerator: number;
  postgres: number;
  other: number;
  idle: number;
}

function readProcesses(): Map<number, { comm: string; ticks: number }> {
  const processes = new Map<number, { comm: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[0] is state (field 3); utime and stime are fields 14 and 15.
      processes.set(Number(entry), { comm, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  return processes;
}

export function cpuSnapshot(): Snapshot | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, ...values] = line.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    const busy = values.slice(0, 8).reduce((sum, value) => sum + value, 0) - idle;
    return { at: performance.now(), busy, idle, self: process.cpuUsage(), processes: readProcesses() };
  } catch {
    return null;
  }
}

/**
 * The split between two snapshots; `serverPid` is the benchmarked server's process. With
 * `postgresPids`, only those PostgreSQL processes count as `postgres` (the backends serving the
 * benchmark's database), and the others' CPU (other databases' sessions on a shared server) as `other`.
 */
export function cpuSplit(before: Snapshot | null, after: Snapshot | null, serverPid: number | undefined, postgresPids?: ReadonlySet<number>): CpuSplit | null {
  if (!before || !after) return null;
  const seconds = (after.at - before.at) / 1000;
  const cores = (ticks: number) => ticks / TICKS_PER_SECOND / seconds;
  const delta = (pid: number) => {
    // A process that started during the run counts from zero.
    const end = after.processes.get(pid);
    return end ? end.ticks - (before.processes.get(pid)?.ticks ?? 0) : 0;
  };
  const self = process.cpuUsage(before.self);
  const loadGenerator = (self.user + self.system) / 1e6 / seconds;
  const server = serverPid === undefined ? 0 : cores(delta(serverPid));
  let postgresTicks = 0;
  for (const [pid, info] of after.processes) if (info.comm === 'postgres' && (!postgresPids || postgresPids.has(pid))) postgresTicks += delta(pid);
  const postgres = cores(postgresTicks);
  const busy = cores(after.busy - before.busy);
  return {
    cores: availableParallelism(),
    seconds,
    server,
    loadGenerator,
    postgres,
    other: Math.max(0, busy - server - loadGenerator - postgres),
    idle: cores(after.idle - before.idle),
  };
}

export function formatSplit(split: CpuSplit | null, serverName: string): string {
  if (!split) return 'cpu split: not available on this system';
  const f = (value: number) => value.toFixed(2);
  return `cpu (cores of ${split.cores}): ${serverName} ${f(split.server)}, load generator ${f(split.loadGenerator)}, postgres ${f(split.postgres)}, other processes ${f(split.other)}, idle ${f(split.idle)}`;
}

/** CPU time per request, microseconds: a figure that noise from other processes hardly moves. */
export function perRequestUs(cores: number, split: CpuSplit, requests: number): number {
  return requests > 0 ? (cores * split.seconds * 1e6) / requests : Number.NaN;
}
