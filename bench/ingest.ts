/**
 * ingest: how many single-message `POST /emails` Mailroom accepts per second, and how fast it
 * answers, with 64 concurrent connections: on PostgreSQL, on PGlite, and, as the reference
 * measured in the same run, a bare Fastify route that only parses and answers the JSON.
 *
 * Every accepted message must be stored: after each Mailroom run the rows in `messages` are
 * counted and must equal the 2xx responses (warm-up included).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openPglite } from '../src/db/pglite.js';
import { buildDist, machineLine } from './lib/preamble.js';
import { invocation, parseBenchOptions, positiveInteger, targetList, UsageError } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { cpuSnapshot, cpuSplit, formatSplit, perRequestUs, type CpuSplit } from './lib/cpu.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuProfile.js';
import { load, type LoadResult } from './lib/load.js';
import { commitCount, createScratchDatabase, durabilitySettings, serverVersion, BENCH_SERVER_URL } from './lib/postgres.js';
import { childEnv, freePort, startChild, waitForOk, type Child } from './lib/processes.js';

export const description = 'POST /emails accepted per second and latency: Mailroom on PostgreSQL and PGlite against a bare Fastify echo route';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The seed's example request (SPEC section 3). */
const SEED_REQUEST = {
  to: 'john.doe@example.com',
  from: 'promo@elipackage.com',
  text: 'we have a new offer this week',
  subject: 'EliPackage Promo',
  externalId: '123456789abcde',
  clientId: '48118112',
  callbacks: ['https://hooks.example.com/mail'],
  alias: 'New User',
};

/** The issue's targets, on PostgreSQL. */
const TARGET_RATE = 10_000;
const TARGET_P99_MS = 50;

const TARGETS = ['echo', 'postgres', 'pglite'] as const;
type TargetName = (typeof TARGETS)[number];
const LABELS: Record<TargetName, string> = {
  echo: 'Fastify echo route (reference)',
  postgres: 'Mailroom, PostgreSQL',
  pglite: 'Mailroom, PGlite',
};

const USAGE = `npm run bench -- ingest [--duration=SECONDS] [--connections=N] [--warmup=SECONDS] [--targets=echo,postgres,pglite] [--profile]

  --duration     measured seconds per target (default 20)
  --connections  concurrent connections (default 64)
  --warmup       warm-up seconds before each measured run (default 2)
  --targets      which targets to run, comma-separated (default all three)
  --profile      run the servers under node --cpu-prof and print their hottest functions during
                 the measured run (profiling slows them down: do not quote these rates)

The PostgreSQL server is postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides);
each run creates a database mr_bench_<random> and drops it afterwards.`;

interface Options {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  targets: TargetName[];
  profile: boolean;
}

interface Durability {
  /** 2xx responses over warm-up and measured run. */
  acknowledged: number;
  messages: number;
  events: number;
  queued: number;
  ok: boolean;
}

interface Outcome {
  target: TargetName;
  result?: LoadResult;
  warmup?: LoadResult;
  startupMs?: number;
  durability?: Durability;
  /** Where the CPU went during the measured run. */
  cpu?: CpuSplit | null;
  /** PostgreSQL transactions committed in the scratch database while the server ran. */
  commits?: number;
  /** Why the target could not be measured, or what went wrong around the measurement. */
  problems: string[];
  profile?: string;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    duration: { type: 'string' },
    connections: { type: 'string' },
    warmup: { type: 'string' },
    targets: { type: 'string' },
    profile: { type: 'boolean' },
  }, USAGE);
  if (!values) return null;
  return {
    seconds: positiveInteger('duration', values.duration, 20, 3600),
    warmupSeconds: positiveInteger('warmup', values.warmup, 2, 600),
    connections: positiveInteger('connections', values.connections, 64, 10_000),
    targets: targetList(values.targets, TARGETS),
    profile: values.profile ?? false,
  };
}


/** Warm-up, then the measured run, against one running target. */
async function warmAndMeasure(baseUrl: string, headers: Record<string, string>, options: Options, outcome: Outcome, server: Child): Promise<void> {
  const common = { url: `${baseUrl}/emails`, method: 'POST' as const, headers, body: JSON.stringify(SEED_REQUEST), connections: options.connections };
  process.stdout.write(`  warm-up ${options.warmupSeconds} s ... `);
  outcome.warmup = await load({ ...common, seconds: options.warmupSeconds });
  console.log(`${Math.round(outcome.warmup.okPerSecond)}/s`);
  process.stdout.write(`  measuring ${options.seconds} s with ${options.connections} connections ... `);
  const before = cpuSnapshot();
  outcome.result = await load({ ...common, seconds: options.seconds });
  outcome.cpu = cpuSplit(before, cpuSnapshot(), server.process.pid);
  const r = outcome.result;
  console.log(`${Math.round(r.okPerSecond)}/s, p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
  console.log(`  ${formatSplit(outcome.cpu, outcome.target === 'echo' ? 'echo server' : 'mailroom')}`);
  const split = outcome.cpu;
  if (split) {
    const us = (cores: number) => `${perRequestUs(cores, split, r.ok).toFixed(0)} µs`;
    console.log(`  cpu per accepted request: server ${us(split.server)}, postgres ${us(split.postgres)}, load generator ${us(split.loadGenerator)}`);
    if (split.other > 0.25) {
      outcome.problems.push(`other processes used ${split.other.toFixed(2)} cores during the measured run: the machine was not quiet, so this rate is understated`);
    }
  }
  for (const run of [outcome.warmup, outcome.result]) {
    if (run.non2xx > 0) outcome.problems.push(`non-2xx responses: ${JSON.stringify(run.statusCodes)}`);
    if (run.errors > 0) outcome.problems.push(`${run.errors} connection errors (${run.timeouts} time-outs)`);
  }
}

/** Node 20 refuses --cpu-prof in NODE_OPTIONS: with --profile it goes on the child's command line. */
function profileFlags(options: Options, dir: string): string[] {
  if (!options.profile) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** The child's main-thread profile, restricted to the measured run. */
function profileOf(dir: string, outcome: Outcome): string {
  const file = mainThreadProfile(dir);
  return file ? formatProfile(summarizeProfile(file, ROOT, outcome.result?.monotonicWindowUs), ROOT, outcome.result?.okInWindow) : `no .cpuprofile written in ${dir}`;
}

async function measureEcho(options: Options, profileRoot: string): Promise<Outcome> {
  const outcome: Outcome = { target: 'echo', problems: [] };
  const port = await freePort();
  const profileDir = join(profileRoot, 'echo');
  const args = [...profileFlags(options, profileDir), '--import', 'tsx', join(ROOT, 'bench/lib/echoServer.ts'), String(port)];
  const child = startChild('echo server', process.execPath, args, { cwd: ROOT, env: childEnv({}) });
  try {
    const base = `http://127.0.0.1:${port}`;
    outcome.startupMs = await waitForOk(`${base}/readyz`, child, 30_000);
    await warmAndMeasure(base, { 'content-type': 'application/json' }, options, outcome, child);
    await child.stop();
    if (options.profile) outcome.profile = profileOf(profileDir, outcome);
  } finally {
    await child.stop();
  }
  return outcome;
}

async function countRows(query: (sql: string) => Promise<{ messages: number; events: number; queued: number }>): Promise<Omit<Durability, 'acknowledged' | 'ok'>> {
  return query(
    'SELECT (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM message_events)::int AS events, (SELECT count(*) FROM queue)::int AS queued',
  );
}

async function measureMailroom(kind: 'postgres' | 'pglite', options: Options, profileRoot: string): Promise<Outcome> {
  const outcome: Outcome = { target: kind, problems: [] };
  const dataDir = mkdtempSync(join(tmpdir(), `mailroom-bench-${kind}-`));
  const removeDataDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  let child: Child | null = null;
  const database = kind === 'postgres' ? await createScratchDatabase() : null;
  try {
    const port = await freePort();
    const key = `mr_bench_${randomBytes(18).toString('hex')}`;
    const profileDir = join(profileRoot, kind);
    const extra: Record<string, string> = {
      MAILROOM_HOST: '127.0.0.1',
      MAILROOM_HTTP_PORT: String(port),
      MAILROOM_BOOTSTRAP_API_KEY: key,
      MAILROOM_LOG_LEVEL: 'warn',
      MAILROOM_DATA_DIR: dataDir,
    };
    if (database) extra.MAILROOM_DATABASE_URL = database.url;
    child = startChild(`mailroom (${kind})`, process.execPath, [...profileFlags(options, profileDir), 'dist/cli/main.js', 'start', '--roles', 'api'], { cwd: ROOT, env: childEnv(extra) });
    const base = `http://127.0.0.1:${port}`;
    outcome.startupMs = await waitForOk(`${base}/readyz`, child, 180_000);
    console.log(`  ready after ${(outcome.startupMs / 1000).toFixed(1)} s`);
    const commitsBefore = database ? await commitCount(database.name) : 0;
    await warmAndMeasure(base, { 'content-type': 'application/json', authorization: `Bearer ${key}` }, options, outcome, child);

    // Stop the server (SIGTERM: stop accepting, drain the group-commit writer, close the
    // database), then count what it stored.
    const exit = await child.stop('SIGTERM');
    if (exit.code !== 0) outcome.problems.push(`mailroom exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    const logged = child.output();
    if (logged.lines > 0) outcome.problems.push(`mailroom logged ${logged.lines} line(s) at warn or above; the last: ${logged.tail.slice(-3).join(' | ')}`);

    // Backends flush their statistics when they exit: after the stop, the count is complete.
    if (database) outcome.commits = (await commitCount(database.name)) - commitsBefore;
    let counts: Omit<Durability, 'acknowledged' | 'ok'>;
    if (database) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        counts = await countRows(async (sql) => (await client.query<{ messages: number; events: number; queued: number }>(sql)).rows[0]!);
      } finally {
        await client.end();
      }
    } else {
      const db = await openPglite(dataDir);
      try {
        counts = await countRows(async (sql) => (await db.query<{ messages: number; events: number; queued: number }>(sql))[0]!);
      } finally {
        await db.close();
      }
    }
    const acknowledged = (outcome.warmup?.ok ?? 0) + (outcome.result?.ok ?? 0);
    outcome.durability = { acknowledged, ...counts, ok: counts.messages === acknowledged };
    const d = outcome.durability;
    if (outcome.commits !== undefined) {
      console.log(`  postgresql: ${outcome.commits} transactions committed for ${d.messages} messages (${(d.messages / Math.max(1, outcome.commits)).toFixed(1)} messages per commit)`);
    }
    console.log(`  durability: ${d.acknowledged} acknowledged (2xx), ${d.messages} rows in messages (${d.events} events, ${d.queued} queued): ${d.ok ? 'OK' : 'MISMATCH'}`);
    if (!d.ok) {
      console.error(
        `\n!!! DURABILITY FAILURE on ${LABELS[kind]}: ${d.acknowledged} requests were answered 2xx but messages holds ${d.messages} rows ` +
          `(${d.messages - d.acknowledged > 0 ? '+' : ''}${d.messages - d.acknowledged}).` +
          (outcome.result && outcome.result.errors + (outcome.warmup?.errors ?? 0) > 0 ? ' Connection errors occurred: a request whose connection failed may have been stored without its answer arriving.' : '') +
          '\n',
      );
    }
    if (options.profile) outcome.profile = profileOf(profileDir, outcome);
  } finally {
    await child?.stop();
    await database?.drop();
    await removeDataDir();
  }
  return outcome;
}

const number = (value: number | undefined, digits = 0) =>
  value === undefined || Number.isNaN(value) ? '-' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(outcomes: Outcome[]): string {
  const echo = outcomes.find((outcome) => outcome.target === 'echo')?.result;
  const header = ['target', 'accepted/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'ratio to echo', 'server CPU µs/req', 'stored = 2xx'];
  const rows = outcomes.map((outcome) => {
    const r = outcome.result;
    const d = outcome.durability;
    return [
      LABELS[outcome.target],
      r ? number(r.okPerSecond) : 'failed',
      number(r?.latency.p50, 1),
      number(r?.latency.p99, 1),
      r ? number(r.non2xx) : '-',
      r ? number(r.errors) : '-',
      r && echo && echo.okPerSecond > 0 ? `${(r.okPerSecond / echo.okPerSecond).toFixed(2)}` : '-',
      r && outcome.cpu ? number(perRequestUs(outcome.cpu.server, outcome.cpu, r.ok)) : '-',
      d ? `${d.ok ? 'yes' : 'NO'} (${number(d.messages)} rows)` : outcome.target === 'echo' ? 'n/a' : '-',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const command = invocation(['ingest', ...args]);
  const started = new Date();
  console.log(`ingest benchmark, ${started.toISOString()}`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  const usesPostgres = options.targets.includes('postgres');
  if (usesPostgres) {
    const server = new URL(BENCH_SERVER_URL);
    let settings: Record<string, string>;
    let version: string;
    try {
      [settings, version] = await Promise.all([durabilitySettings(), serverVersion()]);
    } catch (error) {
      throw new UsageError(
        `cannot reach PostgreSQL at ${server.host} (${(error as Error).message}): start it, set MAILROOM_BENCH_DATABASE_URL, or leave it out with --targets=echo,pglite`,
      );
    }
    console.log(`postgresql: ${version} at ${server.host}, ${Object.entries(settings).map(([name, value]) => `${name}=${value}`).join(', ')}`);
  }
  console.log(`load: autocannon, ${options.connections} connections, pipelining 1, ${options.warmupSeconds} s warm-up + ${options.seconds} s measured per target; body: the seed's example request (${JSON.stringify(SEED_REQUEST).length} bytes)`);
  if (options.targets.some((target) => target !== 'echo')) buildDist();

  const profileRoot = join(ROOT, '.bench', 'profiles', started.toISOString().replace(/[:.]/g, '-'));
  const outcomes: Outcome[] = [];
  for (const target of options.targets) {
    console.log(`\n${LABELS[target]}`);
    try {
      outcomes.push(target === 'echo' ? await measureEcho(options, profileRoot) : await measureMailroom(target, options, profileRoot));
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      outcomes.push({ target, problems: [`failed: ${(error as Error).message.split('\n')[0]}`] });
    }
  }

  console.log(`\nResults (${options.connections} connections, ${options.seconds} s per target, ${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(outcomes));
  console.log(
    "\naccepted/s counts 2xx responses only; latencies are those of 2xx responses; ratio = accepted/s divided by the echo route's;\n" +
      'server CPU µs/req = CPU time of the server process (PostgreSQL not included) per 2xx response during the measured run.',
  );

  const problems = outcomes.filter((outcome) => outcome.problems.length > 0);
  if (problems.length > 0) {
    console.log('\nnotes:');
    for (const outcome of problems) for (const problem of new Set(outcome.problems)) console.log(`  ${LABELS[outcome.target]}: ${problem}`);
  }

  const postgres = outcomes.find((outcome) => outcome.target === 'postgres')?.result;
  if (usesPostgres) {
    console.log('\ntargets (PostgreSQL):');
    const rate = postgres?.okPerSecond;
    const p99 = postgres?.latency.p99;
    console.log(`  ${rate !== undefined && rate >= TARGET_RATE ? 'PASS' : 'MISS'}  at least ${number(TARGET_RATE)} emails/s accepted: ${number(rate)}/s`);
    console.log(`  ${p99 !== undefined && p99 < TARGET_P99_MS ? 'PASS' : 'MISS'}  p99 under ${TARGET_P99_MS} ms: ${number(p99, 1)} ms`);
  }

  for (const outcome of outcomes) if (outcome.profile) console.log(`\n${LABELS[outcome.target]}: ${outcome.profile}`);
  if (options.profile) console.log(`\nprofiles kept in ${relative(ROOT, profileRoot)}/ (open them in Chrome DevTools or speedscope)`);

  const lost = outcomes.filter((outcome) => outcome.durability && !outcome.durability.ok);
  if (lost.length > 0) {
    console.error(`\nFAILED: stored rows differ from 2xx responses on ${lost.map((outcome) => LABELS[outcome.target]).join(', ')}`);
    return 1;
  }
  if (outcomes.some((outcome) => !outcome.result)) return 1;
  return 0;
}
