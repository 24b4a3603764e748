/**
 * tracking: open-pixel and click-redirect hits per second with 64 concurrent connections, each
 * recorded as an OPENED or CLICKED event before it is answered, on PostgreSQL and on PGlite;
 * the reference, measured in the same run, is a bare Fastify server that answers the same URLs
 * with the same GIF or redirect and records nothing.
 *
 * The hits go to the signed URLs of a few thousand real messages (made with the installation's
 * key, as delivery makes them), in turn. Every answered hit must be in the event log: after
 * each Mailroom run the OPENED and CLICKED events are counted against the 200s and 302s.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPglite } from '../src/db/pglite.js';
import { TrackingLinks } from '../src/tracking/links.js';
import { invocation, parseBenchOptions, positiveInteger, targetList, UsageError } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { cpuSnapshot, cpuSplit, formatSplit, perRequestUs, type CpuSplit } from './lib/cpu.js';
import { load, type LoadResult } from './lib/load.js';
import { createScratchDatabase, serverVersion, BENCH_SERVER_URL } from './lib/postgres.js';
import { buildDist, machineLine, ROOT } from './lib/preamble.js';
import { childEnv, freePort, startChild, waitForOk, type Child } from './lib/processes.js';
import { KeyRing } from '../src/crypto/keyring.js';

export const description = 'open-pixel and click-redirect hits recorded per second: Mailroom on PostgreSQL and PGlite against a bare Fastify pixel/redirect server';

const TARGETS = ['echo', 'postgres', 'pglite'] as const;
type TargetName = (typeof TARGETS)[number];
const LABELS: Record<TargetName, string> = {
  echo: 'Fastify pixel/redirect (reference)',
  postgres: 'Mailroom, PostgreSQL',
  pglite: 'Mailroom, PGlite',
};
const KINDS = ['open', 'click'] as const;
type Kind = (typeof KINDS)[number];

const USAGE = `npm run bench -- tracking [--duration=SECONDS] [--connections=N] [--warmup=SECONDS] [--messages=N] [--targets=echo,postgres,pglite]

  --duration     measured seconds per target and kind of hit (default 10)
  --connections  concurrent connections (default 64)
  --warmup       warm-up seconds before each measured run (default 2)
  --messages     messages whose URLs are hit in turn (default 2000)
  --targets      which targets to run, comma-separated (default all three)

The PostgreSQL server is postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides);
each run creates a database mr_bench_<random> and drops it afterwards.`;

interface Options {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  messages: number;
  targets: TargetName[];
}

interface Measured {
  result: LoadResult;
  warmup: LoadResult;
  cpu: CpuSplit | null;
}

interface Outcome {
  target: TargetName;
  runs: Partial<Record<Kind, Measured>>;
  /** Events in the log against answered hits, per kind. */
  recorded?: Record<Kind, { answered: number; events: number }>;
  problems: string[];
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    duration: { type: 'string' },
    connections: { type: 'string' },
    warmup: { type: 'string' },
    messages: { type: 'string' },
    targets: { type: 'string' },
  }, USAGE);
  if (!values) return null;
  return {
    seconds: positiveInteger('duration', values.duration, 10, 3600),
    warmupSeconds: positiveInteger('warmup', values.warmup, 2, 600),
    connections: positiveInteger('connections', values.connections, 64, 10_000),
    messages: positiveInteger('messages', values.messages, 2000, 100_000),
    targets: targetList(values.targets, TARGETS),
  };
}

/** The paths of each kind of hit, one per message, as delivery writes them into the mail. */
function pathsOf(links: TrackingLinks, ids: readonly string[]): Record<Kind, string[]> {
  const path = (url: string) => new URL(url).pathname;
  return {
    open: ids.map((id) => path(links.openUrl(id))),
    click: ids.map((id, index) => path(links.clickUrl(id, 0, `https://shop.example/products/${index}?utm_source=mail`))),
  };
}

async function measureKinds(base: string, paths: Record<Kind, string[]>, options: Options, outcome: Outcome, server: Child): Promise<void> {
  for (const kind of KINDS) {
    const common = { url: `${base}/`, method: 'GET' as const, headers: { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)' }, connections: options.connections, paths: paths[kind], redirectsOk: true };
    process.stdout.write(`  ${kind}s: warm-up ${options.warmupSeconds} s ... `);
    const warmup = await load({ ...common, seconds: options.warmupSeconds });
    process.stdout.write(`${Math.round(warmup.okPerSecond)}/s; measuring ${options.seconds} s ... `);
    const before = cpuSnapshot();
    const result = await load({ ...common, seconds: options.seconds });
    const cpu = cpuSplit(before, cpuSnapshot(), server.process.pid);
    console.log(`${Math.round(result.okPerSecond)}/s, p50 ${result.latency.p50.toFixed(1)} ms, p99 ${result.latency.p99.toFixed(1)} ms, other ${result.non2xx}, errors ${result.errors}`);
    console.log(`    ${formatSplit(cpu, outcome.target === 'echo' ? 'echo server' : 'mailroom')}`);
    outcome.runs[kind] = { result, warmup, cpu };
    if (result.non2xx + warmup.non2xx > 0) outcome.problems.push(`${kind}s: ${result.non2xx + warmup.non2xx} answers other than 2xx/3xx: ${JSON.stringify(result.statusCodes)}`);
    if (result.errors + warmup.errors > 0) outcome.problems.push(`${kind}s: ${result.errors + warmup.errors} connection errors`);
  }
}

async function measureEcho(options: Options, paths: Record<Kind, string[]>): Promise<Outcome> {
  const outcome: Outcome = { target: 'echo', runs: {}, problems: [] };
  const port = await freePort();
  const child = startChild('echo server', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/echoServer.ts'), String(port)], { cwd: ROOT, env: childEnv({}) });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForOk(`${base}/readyz`, child, 30_000);
    await measureKinds(base, paths, options, outcome, child);
  } finally {
    await child.stop();
  }
  return outcome;
}

/** Stores `count` messages through the API (bulk), returning their ids. */
async function seedMessages(base: string, key: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const messages = Array.from({ length: Math.min(500, count - start) }, (_, index) => ({
      to: `reader${start + index}@example.com`, from: 'promo@elipackage.com', subject: 'Spring sale',
      text: '<p>Our <a href="https://shop.example/">spring sale</a> is on.</p>', type: 'marketing', trackOpens: true, trackClicks: true,
    }));
    const response = await fetch(`${base}/emails/bulk`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages }) });
    if (response.status !== 200) throw new Error(`seeding messages: ${response.status} ${await response.text()}`);
    for (const result of ((await response.json()) as { data: { data?: { id: string } }[] }).data) {
      if (!result.data) throw new Error('seeding messages: a message was refused');
      ids.push(result.data.id);
    }
  }
  return ids;
}

async function measureMailroom(kind: 'postgres' | 'pglite', options: Options): Promise<Outcome> {
  const outcome: Outcome = { target: kind, runs: {}, problems: [] };
  const dataDir = mkdtempSync(join(tmpdir(), `mailroom-bench-tracking-${kind}-`));
  const removeDataDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const database = kind === 'postgres' ? await createScratchDatabase() : null;
  let child: Child | null = null;
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const key = `mr_bench_${randomBytes(18).toString('hex')}`;
    const encryptionKey = randomBytes(32);
    const extra: Record<string, string> = {
      MAILROOM_HOST: '127.0.0.1',
      MAILROOM_HTTP_PORT: String(port),
      MAILROOM_BOOTSTRAP_API_KEY: key,
      MAILROOM_LOG_LEVEL: 'warn',
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_PUBLIC_URL: base,
      MAILROOM_ENCRYPTION_KEY: encryptionKey.toString('base64'),
    };
    if (database) extra.MAILROOM_DATABASE_URL = database.url;
    // The API role alone: the hits are what is measured, not delivery.
    child = startChild(`mailroom (${kind})`, process.execPath, ['dist/cli/main.js', 'start', '--roles', 'api'], { cwd: ROOT, env: childEnv(extra) });
    await waitForOk(`${base}/readyz`, child, 180_000);
    process.stdout.write(`  storing ${options.messages} messages ... `);
    const ids = await seedMessages(base, key, options.messages);
    console.log('done');
    await measureKinds(base, pathsOf(new TrackingLinks(new KeyRing(encryptionKey), base), ids), options, outcome, child);

    const exit = await child.stop('SIGTERM');
    if (exit.code !== 0) outcome.problems.push(`mailroom exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    const logged = child.output();
    if (logged.lines > 0) outcome.problems.push(`mailroom logged ${logged.lines} line(s) at warn or above; the last: ${logged.tail.slice(-3).join(' | ')}`);

    const countSql = `SELECT count(*) FILTER (WHERE type = 'OPENED')::int AS open, count(*) FILTER (WHERE type = 'CLICKED')::int AS click FROM message_events`;
    let counts: { open: number; click: number };
    if (database) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        counts = (await client.query<{ open: number; click: number }>(countSql)).rows[0]!;
      } finally {
        await client.end();
      }
    } else {
      const db = await openPglite(dataDir);
      try {
        counts = (await db.query<{ open: number; click: number }>(countSql))[0]!;
      } finally {
        await db.close();
      }
    }
    const answered = (which: Kind) => (outcome.runs[which]?.warmup.ok ?? 0) + (outcome.runs[which]?.result.ok ?? 0);
    outcome.recorded = { open: { answered: answered('open'), events: counts.open }, click: { answered: answered('click'), events: counts.click } };
    for (const which of KINDS) {
      const { answered: hits, events } = outcome.recorded[which];
      console.log(`  ${which}s: ${hits} answered, ${events} events recorded: ${hits === events ? 'OK' : 'MISMATCH'}`);
    }
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
  const header = ['target', 'hit', 'hits/s', 'p50 ms', 'p99 ms', 'ratio to reference', 'server CPU µs/hit', 'recorded = answered'];
  const rows: string[][] = [];
  for (const outcome of outcomes) {
    for (const kind of KINDS) {
      const run = outcome.runs[kind];
      const reference = outcomes.find((other) => other.target === 'echo')?.runs[kind]?.result;
      const recorded = outcome.recorded?.[kind];
      rows.push([
        LABELS[outcome.target],
        kind,
        run ? number(run.result.okPerSecond) : 'failed',
        number(run?.result.latency.p50, 1),
        number(run?.result.latency.p99, 1),
        run && reference && reference.okPerSecond > 0 ? (run.result.okPerSecond / reference.okPerSecond).toFixed(2) : '-',
        run?.cpu ? number(perRequestUs(run.cpu.server, run.cpu, run.result.ok)) : '-',
        recorded ? `${recorded.answered === recorded.events ? 'yes' : 'NO'} (${number(recorded.events)})` : outcome.target === 'echo' ? 'n/a' : '-',
      ]);
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column <= 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column <= 1 ? `${'-'.repeat(width + 2)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const command = invocation(['tracking', ...args]);
  const started = new Date();
  console.log(`tracking benchmark, ${started.toISOString()}`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  if (options.targets.includes('postgres')) {
    try {
      console.log(`postgresql: ${await serverVersion()} at ${new URL(BENCH_SERVER_URL).host}`);
    } catch (error) {
      throw new UsageError(`cannot reach PostgreSQL (${(error as Error).message}): start it, set MAILROOM_BENCH_DATABASE_URL, or leave it out with --targets=echo,pglite`);
    }
  }
  console.log(`load: autocannon, ${options.connections} connections, ${options.warmupSeconds} s warm-up + ${options.seconds} s measured per target and kind; the URLs of ${options.messages} messages in turn`);
  if (options.targets.some((target) => target !== 'echo')) buildDist();

  // The reference answers any id and signature: it gets URLs of the same shape and length.
  const referencePaths = pathsOf(new TrackingLinks(new KeyRing(randomBytes(32)), 'http://127.0.0.1'), Array.from({ length: options.messages }, (_, index) => `01JBENCH${String(index).padStart(18, '0')}`));
  const outcomes: Outcome[] = [];
  for (const target of options.targets) {
    console.log(`\n${LABELS[target]}`);
    try {
      outcomes.push(target === 'echo' ? await measureEcho(options, referencePaths) : await measureMailroom(target, options));
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      outcomes.push({ target, runs: {}, problems: [`failed: ${(error as Error).message.split('\n')[0]}`] });
    }
  }

  console.log(`\nResults (${options.connections} connections, ${options.seconds} s per target and kind, ${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(outcomes));
  console.log('\nhits/s counts 200 (pixel) and 302 (click) answers; each Mailroom answer waits for its event to commit; ratio = hits/s divided by the reference\'s.');
  const problems = outcomes.filter((outcome) => outcome.problems.length > 0);
  if (problems.length > 0) {
    console.log('\nnotes:');
    for (const outcome of problems) for (const problem of new Set(outcome.problems)) console.log(`  ${LABELS[outcome.target]}: ${problem}`);
  }
  const lost = outcomes.filter((outcome) => outcome.recorded && KINDS.some((kind) => outcome.recorded![kind].answered !== outcome.recorded![kind].events));
  if (lost.length > 0) {
    console.error(`\nFAILED: recorded events differ from answered hits on ${lost.map((outcome) => LABELS[outcome.target]).join(', ')}`);
    return 1;
  }
  return outcomes.some((outcome) => Object.keys(outcome.runs).length < KINDS.length) ? 1 : 0;
}
