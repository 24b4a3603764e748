import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of a process and its direct children (Linux /proc), for a service made of many
 * short-lived processes such as Postfix, whose master forks and reaps its daemons: the children
 * alive at the end count with their own utime+stime, the ones reaped meanwhile through the
 * master's cutime+cstime.
 */
const TICKS_PER_SECOND = 100; // USER_HZ

export interface TreeSnapshot {
  /** ticks of the root itself plus its reaped children (utime+stime+cutime+cstime) */
  root: number;
  children: Map<number, number>;
}

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is fields[0]; ppid [1]; utime [11], stime [12], cutime [13], cstime [14].
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

export function treeSnapshot(rootPid: number): TreeSnapshot {
  const root = statFields(rootPid);
  const children = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === rootPid) children.set(Number(entry), Number(fields[11]) + Number(fields[12]));
  }
  const rootTicks = root ? Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14]) : 0;
  return { root: rootTicks, children };
}

/**
 * CPU seconds of the tree between two snapshots. A child alive at the start and reaped before
 * the end is counted in full by the root's cutime: what it had used before the start is taken off.
 */
export function treeCpuSeconds(before: TreeSnapshot, after: TreeSnapshot): number {
  let ticks = after.root - before.root;
  for (const [pid, end] of after.children) ticks += end - (before.children.get(pid) ?? 0);
  for (const [pid, start] of before.children) if (!after.children.has(pid)) ticks -= start;
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds (user+system, all threads) a single process has used so far; null when it is gone. */
export function processCpuSeconds(pid: number): number | null {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : null;
}

/** CPU seconds (user+system) of a process's main thread, whose task id is the pid (Linux /proc); null elsewhere. */
export function mainThreadCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return null;
  }
}
