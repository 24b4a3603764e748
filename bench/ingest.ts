/**
 * ingest: how many single-message `POST /emails` Mailroom accepts per second, and how fast it
 * answers, with 64 concurrent connections: on PostgreSQL, on PGlite, and, as the reference
 * measured in the same run, a bare Fastify route that only parses and answers the JSON.
 *
 * Every accepted message must be stored: after each Mailroom run the rows in `messages` are
 * counted and must equal the 2xx responses (warm-up included).
 */
import { join, relative } from 'node:path';
import { HTTP_LOAD_OPTIONS, httpLoadValues, parseBenchOptions, targetList } from './lib/args.js';
import { perRequestUs } from './lib/cpu.js';
import { MailroomApi, SEED_REQUEST, STORE_LABELS, type StoreKind } from './lib/mailroomApi.js';
import { measureEchoRoute, measurementProblems, profileReport, warmAndMeasure, type Measured } from './lib/measure.js';
import { describeBenchServer } from './lib/postgres.js';
import { buildDist, printPreamble, ROOT } from './lib/preamble.js';
import { number } from './lib/smtpReport.js';
import { markdownTable } from './lib/table.js';

export const description = 'POST /emails accepted per second and latency: Mailroom on PostgreSQL and PGlite against a bare Fastify echo route';

/** The targets, on PostgreSQL. */
const TARGET_RATE = 10_000;
const TARGET_P99_MS = 50;

const TARGETS = ['echo', 'postgres', 'pglite'] as const;
type TargetName = (typeof TARGETS)[number];
const LABELS: Record<TargetName, string> = {
  echo: 'Fastify echo route (reference)',
  postgres: `Mailroom, ${STORE_LABELS.postgres}`,
  pglite: `Mailroom, ${STORE_LABELS.pglite}`,
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
  measured?: Measured;
  durability?: Durability;
  /** PostgreSQL transactions committed in the scratch database while the server ran. */
  commits?: number | null;
  /** What went wrong around the measurement, or why the target could not be measured. */
  problems: string[];
  profile?: string;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, { ...HTTP_LOAD_OPTIONS, profile: { type: 'boolean' } }, USAGE);
  if (!values) return null;
  return { ...httpLoadValues(values, 20), targets: targetList(values.targets, TARGETS), profile: values.profile ?? false };
}

const seedBody = () => JSON.stringify(SEED_REQUEST);

async function measureEcho(options: Options, profileDir: string | null): Promise<Outcome> {
  const measured = await measureEchoRoute(
    { path: '/emails', method: 'POST', headers: { 'content-type': 'application/json' }, body: seedBody(), connections: options.connections },
    options,
    profileDir,
  );
  return { target: 'echo', measured, problems: measurementProblems(measured), profile: measured.profile };
}

async function measureMailroom(kind: StoreKind, options: Options, profileDir: string | null): Promise<Outcome> {
  const outcome: Outcome = { target: kind, problems: [] };
  const api = await MailroomApi.start({ kind, profileDir });
  try {
    console.log(`  ready after ${(api.startupMs / 1000).toFixed(1)} s`);
    const commitsBefore = await api.commits();
    const measured = await warmAndMeasure(
      { url: `${api.base}/emails`, method: 'POST', headers: api.headers, body: seedBody(), connections: options.connections },
      options,
      { server: api.child, name: 'mailroom', ...(api.database ? { postgresBackends: () => api.backends() } : {}) },
    );
    outcome.measured = measured;
    // SIGTERM: stop accepting, drain the group-commit writer, close the database; then count.
    outcome.problems.push(...measurementProblems(measured), ...(await api.stop()));
    // Backends flush their statistics when they exit: after the stop, the count is complete.
    const commitsAfter = await api.commits();
    outcome.commits = commitsBefore === null || commitsAfter === null ? null : commitsAfter - commitsBefore;

    const [counts] = await api.query<{ messages: number; events: number; queued: number }>(
      'SELECT (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM message_events)::int AS events, (SELECT count(*) FROM queue)::int AS queued',
    );
    const stored = { messages: counts?.messages ?? 0, events: counts?.events ?? 0, queued: counts?.queued ?? 0 };
    const acknowledged = measured.warmup.ok + measured.result.ok;
    const d: Durability = { acknowledged, ...stored, ok: stored.messages === acknowledged };
    outcome.durability = d;
    if (outcome.commits !== null) {
      console.log(`  postgresql: ${outcome.commits} transactions committed for ${d.messages} messages (${(d.messages / Math.max(1, outcome.commits)).toFixed(1)} messages per commit)`);
    }
    console.log(`  durability: ${d.acknowledged} acknowledged (2xx), ${d.messages} rows in messages (${d.events} events, ${d.queued} queued): ${d.ok ? 'OK' : 'MISMATCH'}`);
    if (!d.ok) {
      const errors = measured.result.errors + measured.warmup.errors;
      console.error(
        `\n!!! DURABILITY FAILURE on ${LABELS[kind]}: ${d.acknowledged} requests were answered 2xx but messages holds ${d.messages} rows ` +
          `(${d.messages - d.acknowledged > 0 ? '+' : ''}${d.messages - d.acknowledged}).` +
          (errors > 0 ? ' Connection errors occurred: a request whose connection failed may have been stored without its answer arriving.' : '') +
          '\n',
      );
    }
    if (profileDir) outcome.profile = profileReport(profileDir, measured.result);
  } finally {
    await api.close();
  }
  return outcome;
}

function table(outcomes: Outcome[]): string {
  const echo = outcomes.find((outcome) => outcome.target === 'echo')?.measured?.result;
  const header = ['target', 'accepted/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'ratio to echo', 'server CPU µs/req', 'PostgreSQL CPU µs/req', 'stored = 2xx'];
  const rows = outcomes.map((outcome) => {
    const r = outcome.measured?.result;
    const cpu = outcome.measured?.cpu;
    const d = outcome.durability;
    return [
      LABELS[outcome.target],
      r ? number(r.okPerSecond) : 'failed',
      number(r?.latency.p50, 1),
      number(r?.latency.p99, 1),
      r ? number(r.non2xx) : '-',
      r ? number(r.errors) : '-',
      r && echo && echo.okPerSecond > 0 ? (r.okPerSecond / echo.okPerSecond).toFixed(2) : '-',
      r && cpu ? number(perRequestUs(cpu.server, cpu, r.ok)) : '-',
      r && cpu && outcome.target === 'postgres' ? number(perRequestUs(cpu.postgres, cpu, r.ok)) : '-',
      d ? `${d.ok ? 'yes' : 'NO'} (${number(d.messages)} rows)` : outcome.target === 'echo' ? 'n/a' : '-',
    ];
  });
  return markdownTable(header, rows);
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const { command, started } = printPreamble('ingest', args);
  const usesPostgres = options.targets.includes('postgres');
  if (usesPostgres) console.log(await describeBenchServer('--targets=echo,pglite'));
  console.log(
    `load: autocannon, ${options.connections} connections, pipelining 1, ${options.warmupSeconds} s warm-up + ${options.seconds} s measured per target; ` +
      `body: the seed's example request (${seedBody().length} bytes)`,
  );
  if (options.targets.some((target) => target !== 'echo')) buildDist();

  const profileRoot = join(ROOT, '.bench', 'profiles', started.toISOString().replace(/[:.]/g, '-'));
  const outcomes: Outcome[] = [];
  for (const target of options.targets) {
    console.log(`\n${LABELS[target]}`);
    const profileDir = options.profile ? join(profileRoot, target) : null;
    try {
      outcomes.push(target === 'echo' ? await measureEcho(options, profileDir) : await measureMailroom(target, options, profileDir));
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      outcomes.push({ target, problems: [`failed: ${(error as Error).message.split('\n')[0]}`] });
    }
  }

  console.log(`\nResults (${options.connections} connections, ${options.seconds} s per target, ${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(outcomes));
  console.log(
    "\naccepted/s counts 2xx responses only; latencies are those of 2xx responses; ratio = accepted/s divided by the echo route's;\n" +
      'server CPU µs/req = CPU time of the server process per 2xx response during the measured run; PostgreSQL CPU: the backends\n' +
      "of the run's own database (a shared server's other sessions not counted).",
  );

  const problems = outcomes.filter((outcome) => outcome.problems.length > 0);
  if (problems.length > 0) {
    console.log('\nnotes:');
    for (const outcome of problems) for (const problem of new Set(outcome.problems)) console.log(`  ${LABELS[outcome.target]}: ${problem}`);
  }

  if (usesPostgres) {
    const postgres = outcomes.find((outcome) => outcome.target === 'postgres')?.measured?.result;
    const rate = postgres?.okPerSecond;
    const p99 = postgres?.latency.p99;
    console.log('\ntargets (PostgreSQL):');
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
  if (outcomes.some((outcome) => !outcome.measured)) return 1;
  return 0;
}
