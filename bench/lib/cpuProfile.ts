import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The parts of a V8 .cpuprofile (as written by `node --cpu-prof`) that a self-time summary needs. */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC on Linux, as process.hrtime). */
  startTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time, 0..100. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Whether only the samples inside the requested window were counted. */
  windowed: boolean;
  totalMs: number;
  busyMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a frame's code lives: an npm package, Mailroom's own code, or Node's internals. */
function moduleOf(frame: CallFrame, root: string): string {
  if (SPECIAL.has(frame.functionName) && frame.url === '') return frame.functionName;
  const url = frame.url;
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inModules) return inModules[1]!;
  const local = relative(root, path);
  return local.startsWith('..') ? path : `mailroom ${local.replace(/^dist\//, '').replace(/\/[^/]+$/, '/')}`;
}

function locationOf(frame: CallFrame, root: string): string {
  if (frame.url === '') return '';
  const path = frame.url.startsWith('file://') ? decodeURIComponent(new URL(frame.url).pathname) : frame.url;
  const inModules = /node_modules\/(.*)$/.exec(path);
  const shown = inModules ? inModules[1]! : path.startsWith(root) ? relative(root, path) : path;
  return `${shown}:${frame.lineNumber + 1}`;
}

/**
 * Self time per function and per module. With `windowUs` (monotonic microseconds, as from
 * process.hrtime in any process of the machine), only the samples inside it count: the steady
 * state under load, without start-up (module loading, PGlite's initdb) and shutdown.
 */
export function summarizeProfile(file: string, root: string, windowUs?: [number, number], top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  samples.forEach((id, index) => {
    at += deltas[index] ?? 0;
    if (windowUs && (at < windowUs[0] || at > windowUs[1])) return;
    const node = byId.get(id);
    // timeDeltas[i] is the time since the previous sample; the interval up to the next sample
    // belongs to this one.
    const ms = (deltas[index + 1] ?? 0) / 1000;
    if (!node) return;
    totalMs += ms;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    const location = locationOf(frame, root);
    const key = `${frame.functionName || '(anonymous)'}${location ? ` ${location}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
    const module = moduleOf(frame, root);
    modules.set(module, (modules.get(module) ?? 0) + ms);
  });
  const busyMs = totalMs - idleMs;
  const rank = (map: Map<string, number>, count: number): SelfTime[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, ms]) => ({ name, ms, percent: busyMs > 0 ? (100 * ms) / busyMs : 0 }));
  return { file, windowed: windowUs !== undefined, totalMs, busyMs, functions: rank(functions, top), modules: rank(modules, 15) };
}

/**
 * The main thread's .cpuprofile in a directory written by --cpu-prof-dir (worker threads, such
 * as tsx's loader thread, write their own: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile).
 */
export function mainThreadProfile(dir: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).sort();
  } catch {
    return null;
  }
  const main = names.find((name) => /\.0\.\d+\.cpuprofile$/.test(name)) ?? names[0];
  return main ? join(dir, main) : null;
}

/** With `requests` (answered in the profiled window), each line also shows its cost per request. */
export function formatProfile(summary: ProfileSummary, root: string, requests?: number): string {
  const perRequest = (ms: number) => (requests ? `  ${((ms * 1000) / requests).toFixed(1).padStart(6)} µs/req` : '');
  const line = (entry: SelfTime) => `  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.ms.toFixed(0).padStart(7)} ms${perRequest(entry.ms)}  ${entry.name}`;
  return [
    `CPU profile ${relative(root, summary.file)}${summary.windowed ? ', measured window only' : ''}: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ` +
      `${(summary.busyMs / 1000).toFixed(1)} s busy (${((100 * summary.busyMs) / Math.max(1, summary.totalMs)).toFixed(0)}% of the main thread)` +
      (requests ? `, ${requests} requests: ${((summary.busyMs * 1000) / requests).toFixed(0)} µs busy per request` : ''),
    'self time by module (share of busy time):',
    ...summary.modules.map(line),
    'top functions by self time:',
    ...summary.functions.map(line),
  ].join('\n');
}
