import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage error in a benchmark's arguments: printed without a stack trace. */
export class UsageError extends Error {}

/** `--name=N` as a positive integer (the fallback when absent). */
export function positiveInteger(name: string, value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`--${name} must be an integer from 1 to ${max}, not "${value}"`);
  }
  return Number(value);
}

/** `--targets=a,b` (or another option's list): the chosen ones in the benchmark's own order (the reference first), all when absent. */
export function targetList<const T extends string>(value: string | undefined, all: readonly T[], option = 'targets'): T[] {
  const chosen = (value ?? all.join(',')).split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = chosen.filter((name) => !(all as readonly string[]).includes(name));
  if (unknown.length > 0 || chosen.length === 0) throw new UsageError(`--${option} takes a list of ${all.join(', ')}; got "${value}"`);
  return all.filter((name) => chosen.includes(name));
}

/** The command line that started this benchmark, as the user would type it again. */
export function invocation(args: readonly string[]): string {
  const quoted = args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench -- ${quoted}` : `node --import tsx bench/run.ts ${quoted}`;
}

/**
 * A benchmark's options parsed strictly (node:util parseArgs, with `--help`/`-h` added): the
 * values, or null when help was asked for and printed. A bad option is a UsageError with the usage.
 */
export function parseBenchOptions<const O extends ParseArgsConfig['options']>(args: string[], options: O, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: false, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return null;
  }
  return parsed.values as ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'];
}

/** The options every closed-loop HTTP benchmark (ingest, tracking, policy) takes, for parseBenchOptions. */
export const HTTP_LOAD_OPTIONS = {
  duration: { type: 'string' },
  warmup: { type: 'string' },
  connections: { type: 'string' },
  targets: { type: 'string' },
} as const;

/** Their values: measured seconds (default `duration`), warm-up seconds (default 2), connections (default 64). */
export function httpLoadValues(values: { duration?: string; warmup?: string; connections?: string }, duration: number) {
  return {
    seconds: positiveInteger('duration', values.duration, duration, 3600),
    warmupSeconds: positiveInteger('warmup', values.warmup, 2, 600),
    connections: positiveInteger('connections', values.connections, 64, 10_000),
  };
}
