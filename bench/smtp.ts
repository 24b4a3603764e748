/**
 * smtp: how many messages per second Mailroom's SMTP API accepts with durable acceptance (a 250
 * to DATA means the message is stored), under postfix's `smtp-source` (20 sessions, each reusing
 * its connection, 1 KB, 20,000 messages); and, measured in the same run with the same load
 * generator, postfix's `smtp-sink` (the ceiling: it stores nothing) and a private Postfix's
 * smtpd with its durable queue (each message fsynced into the hold queue before the 250).
 *
 * Each target must show that it took every message: smtp-sink its count, Postfix its queue
 * files, Mailroom the rows in `messages` after it has been stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist, machineLine } from './lib/preamble.js';
import { invocation, parseBenchOptions, positiveInteger, targetList, UsageError } from './lib/args.js';
import { cpuSnapshot, cpuSplit, formatSplit } from './lib/cpu.js';
import { runMailroomSmtp } from './lib/mailroomSmtp.js';
import { postfixVersion } from './lib/postfix.js';
import { runPostfixIngest } from './lib/postfixIngest.js';
import { BENCH_SERVER_URL, durabilitySettings, serverVersion } from './lib/postgres.js';
import { adjustSplit, number, rate, table, type IngestRun } from './lib/smtpReport.js';
import { startCountingSink } from './lib/smtpSink.js';
import { runSmtpSource, smtpSourceArgs, type SmtpSourceLoad } from './lib/smtpSource.js';

export const description = "messages/s accepted over SMTP from smtp-source: Mailroom (durable) against Postfix's smtpd (durable queue) and smtp-sink";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const API_KEY = 'mr_bench_smtp_0123456789abcdef0123456789';
const FROM = 'app@shop.bench.test';
/** smtp-source -N prepends a sequence number: 1rcpt@..., 2rcpt@... */
const TO = 'rcpt@inbox.bench.test';
const SUBJECT = 'smtp benchmark';

/** The issue's targets, for each Mailroom store. */
const TARGET_POSTFIX_RATIO = 1.5;
const TARGET_SINK_RATIO = 0.25;

const TARGETS = ['sink', 'postfix', 'mailroom'] as const;
type TargetName = (typeof TARGETS)[number];

const USAGE = `npm run bench -- smtp [--messages=N] [--sessions=N] [--size=BYTES] [--database=postgres|pglite|both]
                        [--targets=sink,postfix,mailroom] [--warmup=N] [--no-build]

  --messages  messages per target (default 20000)
  --sessions  parallel smtp-source sessions, each keeping its connection (default 20)
  --size      bytes of body per message, smtp-source -l (default 1024; its five header lines come on top)
  --database  Mailroom's store: postgres, pglite or both (default both: PostgreSQL, then PGlite)
  --targets   which targets to run, comma-separated (default all; the references run first):
                sink      postfix's smtp-sink: the ceiling, stores nothing
                postfix   a private Postfix's smtpd, every message fsynced into its hold queue
                mailroom  Mailroom's SMTP API (roles api,smtp) on the store(s) of --database
  --warmup    messages sent to each target before the timed run (default 0; counted in the checks)
  --no-build  use dist/ as it is instead of running npm run build first

The load generator is postfix's smtp-source (-d -N -s SESSIONS -m MESSAGES -l SIZE), timed from its
spawn to its exit. PostgreSQL: postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL
overrides); each run creates a database mr_bench_<random> and drops it afterwards. The Postfix
reference needs root and the Debian postfix package (smtp-sink, smtp-source, postfix, postsuper).`;

interface Options {
  messages: number;
  sessions: number;
  size: number;
  warmup: number;
  databases: ('postgres' | 'pglite')[];
  targets: TargetName[];
  build: boolean;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    messages: { type: 'string' },
    sessions: { type: 'string' },
    size: { type: 'string' },
    database: { type: 'string' },
    targets: { type: 'string' },
    warmup: { type: 'string' },
    'no-build': { type: 'boolean' },
  }, USAGE);
  if (!values) return null;
  const database = values.database ?? 'both';
  if (!['pglite', 'postgres', 'both'].includes(database)) throw new UsageError(`--database takes postgres, pglite or both; got "${database}"`);
  const warmup = values.warmup === '0' ? 0 : positiveInteger('warmup', values.warmup, 0, 1_000_000);
  return {
    messages: positiveInteger('messages', values.messages, 20_000, 1_000_000),
    sessions: positiveInteger('sessions', values.sessions, 20, 1000),
    size: positiveInteger('size', values.size, 1024, 10_000_000),
    warmup,
    databases: database === 'both' ? ['postgres', 'pglite'] : [database as 'postgres' | 'pglite'],
    targets: targetList(values.targets, TARGETS),
    build: !values['no-build'],
  };
}


/** The ceiling: smtp-sink answers 250 to everything and keeps nothing. */
async function runSink(load: Omit<SmtpSourceLoad, 'port'>, warmup: number): Promise<IngestRun> {
  const sink = await startCountingSink(Math.max(1000, load.sessions * 2));
  try {
    const source = { ...load, port: sink.port };
    if (warmup > 0) {
      process.stdout.write(`  warm-up: ${number(warmup)} messages ... `);
      const warm = await runSmtpSource(source, warmup);
      if (warm.problems.length > 0) throw new Error(`warm-up: ${warm.problems.join('; ')}`);
      console.log(`${warm.seconds.toFixed(2)} s`);
    }
    process.stdout.write(`  smtp-source: ${number(load.messages)} messages over ${load.sessions} sessions to 127.0.0.1:${sink.port} ... `);
    const before = cpuSnapshot();
    const run = await runSmtpSource(source);
    const after = cpuSnapshot();
    console.log(`${run.seconds.toFixed(2)} s, ${number(load.messages / run.seconds)}/s`);
    const split = adjustSplit(cpuSplit(before, after, sink.pid), run.cpuSeconds);
    // smtp-sink reports each "." on its status line; the last update may lag the exit a little.
    const expected = warmup + load.messages;
    for (let i = 0; i < 50 && sink.count() < expected; i++) await sleep(100);
    const counted = sink.count();
    const ok = counted === expected && run.problems.length === 0;
    const problems = [...run.problems];
    if (counted !== expected) problems.push(`smtp-sink counted ${counted} messages, expected ${expected}`);
    console.log(`  smtp-sink counted ${number(counted)} messages (expected ${number(expected)}): ${counted === expected ? 'OK' : 'MISMATCH'}`);
    return {
      label: 'smtp-sink (ceiling, not durable)',
      kind: 'sink',
      messages: load.messages,
      seconds: run.seconds,
      source: run,
      serverCpuSeconds: split ? split.server * split.seconds : null,
      postgresCpuSeconds: null,
      split,
      commitsPerMessage: null,
      verified: `${ok ? 'yes' : 'NO'} (${number(counted)} counted)`,
      ok,
      problems,
    };
  } finally {
    await sink.stop();
  }
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const command = invocation(['smtp', ...args]);
  const started = new Date();
  console.log(`smtp benchmark, ${started.toISOString()}`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  const mailroom = options.targets.includes('mailroom');
  if (mailroom && options.databases.includes('postgres')) {
    const server = new URL(BENCH_SERVER_URL);
    try {
      const [version, settings] = await Promise.all([serverVersion(), durabilitySettings()]);
      console.log(`postgresql: ${version} at ${server.host}, ${Object.entries(settings).map(([name, value]) => `${name}=${value}`).join(', ')}`);
    } catch (error) {
      throw new UsageError(`cannot reach PostgreSQL at ${server.host} (${(error as Error).message}): start it, set MAILROOM_BENCH_DATABASE_URL, or use --database=pglite`);
    }
  }
  if (options.targets.includes('postfix') || options.targets.includes('sink')) console.log(`postfix: ${postfixVersion()}`);
  const load: Omit<SmtpSourceLoad, 'port'> = { sessions: options.sessions, messages: options.messages, size: options.size, from: FROM, to: TO, subject: SUBJECT };
  console.log(
    `load: smtp-source ${smtpSourceArgs({ ...load, port: 0 }).slice(0, -1).map((arg) => (arg.includes(' ') ? `'${arg}'` : arg)).join(' ')} 127.0.0.1:PORT ` +
      `(${number(options.messages)} messages, ${options.sessions} sessions reusing their connections, ${number(options.size)} bytes of body, one recipient each)` +
      (options.warmup > 0 ? `, after ${number(options.warmup)} warm-up messages` : ''),
  );
  if (mailroom && options.build) buildDist();

  const runs: IngestRun[] = [];
  const failures: string[] = [];
  const attempt = async (name: string, measure: () => Promise<IngestRun>) => {
    console.log(`\n${name}`);
    try {
      const result = await measure();
      runs.push(result);
      console.log(`  ${formatSplit(result.split, result.kind === 'sink' ? 'smtp-sink' : result.kind === 'postfix' ? 'postfix (master and daemons)' : 'mailroom')}`);
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      failures.push(`${name}: failed: ${(error as Error).message.split('\n')[0]}`);
    }
  };
  if (options.targets.includes('sink')) await attempt('smtp-sink (ceiling, not durable)', () => runSink(load, options.warmup));
  if (options.targets.includes('postfix')) await attempt(`Postfix ${postfixVersion()} smtpd, private instance, every message held in its queue`, () => runPostfixIngest(load, options.warmup));
  if (mailroom) {
    for (const kind of options.databases) {
      await attempt(`Mailroom SMTP (roles api,smtp), ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}`, () => runMailroomSmtp({ root: ROOT, kind, apiKey: API_KEY, load, warmup: options.warmup }));
    }
  }

  console.log(`\nResults (${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(runs));
  console.log(
    '\nmessages/s = messages / seconds from smtp-source\'s spawn to its exit (connections, HELO and QUIT included);\n' +
      'server CPU = CPU time of smtp-sink, of Postfix\'s master and all its daemons (smtpd, cleanup, trivial-rewrite, ...), or of the Mailroom process,\n' +
      'per 1,000 messages during the timed run; PostgreSQL CPU = all postgres processes on the machine in that time; verified = what the target holds afterwards.',
  );

  const notes = [...failures];
  for (const result of runs) {
    for (const problem of new Set(result.problems)) notes.push(`${result.label}: ${problem}`);
    if (result.split && result.split.other > 0.25) {
      notes.push(`${result.label}: other processes used ${result.split.other.toFixed(2)} cores during the run: the machine was not quiet, so this rate is understated`);
    }
    if (result.commitsPerMessage !== null) notes.push(`${result.label}: ${(1 / result.commitsPerMessage).toFixed(1)} messages per PostgreSQL commit`);
  }
  if (notes.length > 0) console.log(`\nnotes:\n${notes.map((note) => `  ${note}`).join('\n')}`);

  const sink = runs.find((result) => result.kind === 'sink' && result.ok);
  const postfix = runs.find((result) => result.kind === 'postfix' && result.ok);
  const mailroomRuns = runs.filter((result) => result.kind === 'mailroom');
  if (mailroom) {
    console.log('\ntargets:');
    for (const result of mailroomRuns) {
      const check = (reference: IngestRun | undefined, target: number, what: string) => {
        if (!reference) return console.log(`  -        at least ${target}x ${what}: not measured (${result.label})`);
        const ratio = rate(result) / rate(reference);
        console.log(`  ${result.ok && ratio >= target ? 'met    ' : 'NOT met'}  at least ${target}x ${what}: ${ratio.toFixed(2)}x (${result.label}: ${number(rate(result))}/s, ${what} ${number(rate(reference))}/s)`);
      };
      check(postfix, TARGET_POSTFIX_RATIO, "Postfix's ingest");
      check(sink, TARGET_SINK_RATIO, 'smtp-sink');
    }
    for (const kind of options.databases) {
      if (!mailroomRuns.some((result) => result.label.includes(kind === 'postgres' ? 'PostgreSQL' : 'PGlite'))) console.log(`  NOT met  Mailroom on ${kind}: the run failed`);
    }
  }

  const expected = options.targets.filter((name) => name !== 'mailroom').length + (mailroom ? options.databases.length : 0);
  const bad = runs.filter((result) => !result.ok);
  if (bad.length > 0) console.error(`\nFAILED: ${bad.map((result) => `${result.label} (${result.verified})`).join(', ')}`);
  return runs.length < expected || bad.length > 0 ? 1 : 0;
}
