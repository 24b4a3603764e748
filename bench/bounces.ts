/**
 * bounces: how many DSNs per second Mailroom's inbound MX (role mx) takes, each parsed and
 * applied (the message BOUNCED with its event, the address suppressed by the trigger) before its
 * 250, on PGlite and on PostgreSQL; against postfix's bare `smtp-sink`, measured in the same run
 * with the same client, the same reports and the same connections.
 *
 * Preparation (not timed): Mailroom with roles api,worker,mx and the sandbox transport stores N
 * messages through POST /emails/bulk and delivers them (DELIVERED); the bench computes each one's
 * VERP Return-Path with the same key and builds a Postfix-style DSN (5.1.1 user unknown,
 * text/rfc822-headers of the original, about 2 KB) for it. Timed: one DSN per message over C
 * reused connections. Afterwards every message must be BOUNCED with one BOUNCED event, and every
 * recipient in `suppressions` as HARD_BOUNCE. A second measurement, in-process: parseBounce over
 * the same DSN bytes against mailparser's simpleParser.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { parseBounce } from '../src/bounces/parser/index.js';
import { Verp } from '../src/bounces/verp.js';
import { invocation, parseBenchOptions, positiveInteger, targetList, UsageError } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { cpuSnapshot, cpuSplit, formatSplit, type CpuSplit } from './lib/cpu.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuProfile.js';
import { postfixDsn, reportsPerSecond, sendReports, type ClientKind, type LoadRun, type Report } from './lib/dsnClient.js';
import { postfixVersion } from './lib/postfix.js';
import { BENCH_SERVER_URL, commitCount, createScratchDatabase, durabilitySettings, serverVersion } from './lib/postgres.js';
import { buildDist, machineLine, ROOT } from './lib/preamble.js';
import { childEnv, freePort, startChild, waitForOk, type Child } from './lib/processes.js';
import { mainThreadCpuSeconds, treeCpuSeconds, treeSnapshot } from './lib/processTree.js';
import { startCountingSink } from './lib/smtpSink.js';
import { KeyRing } from '../src/crypto/keyring.js';

export const description = 'DSNs/s the inbound MX parses and records (BOUNCED + suppression before the 250): Mailroom on PGlite and PostgreSQL against smtp-sink';

const TARGETS = ['pglite', 'postgres'] as const;
type TargetName = (typeof TARGETS)[number];
const STORE: Record<TargetName, string> = { pglite: 'PGlite', postgres: 'PostgreSQL' };

const BOUNCE_DOMAIN = 'bounces.bench.test';
const FROM = 'Shop <app@shop.bench.test>';
const SUBJECT = 'Your order has shipped';
const BULK = 1000;

const USAGE = `npm run bench -- bounces [--messages=N] [--connections=N] [--targets=pglite,postgres] [--client=raw|nodemailer]
                         [--profile] [--no-build]

  --messages     messages stored and delivered first, then bounced once each (default 10000)
  --connections  concurrent SMTP connections, each reused for report after report (default 20)
  --targets      Mailroom's stores, comma-separated, in this order (default pglite,postgres); each
                 Mailroom run is preceded by a smtp-sink run with the same reports (the reference)
  --client       raw: a pipelining SMTP client, latency from the end of DATA to the reply (default);
                 nodemailer: Nodemailer's pooled transport, latency per whole transaction
  --profile      run Mailroom under node --cpu-prof and print its main thread's hottest functions
                 during the timed run
  --no-build     use dist/ as it is instead of running npm run build first

PostgreSQL: postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides); each run
creates a database mr_bench_<random> and drops it afterwards. The reference needs the Debian
postfix package (/usr/sbin/smtp-sink).`;

interface Options {
  messages: number;
  connections: number;
  targets: TargetName[];
  client: ClientKind;
  profile: boolean;
  build: boolean;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    messages: { type: 'string' },
    connections: { type: 'string' },
    targets: { type: 'string' },
    client: { type: 'string' },
    profile: { type: 'boolean' },
    'no-build': { type: 'boolean' },
  }, USAGE);
  if (!values) return null;
  const client = values.client ?? 'raw';
  if (client !== 'raw' && client !== 'nodemailer') throw new UsageError(`--client takes raw or nodemailer; got "${client}"`);
  return {
    messages: positiveInteger('messages', values.messages, 10_000, 1_000_000),
    connections: positiveInteger('connections', values.connections, 20, 500),
    targets: targetList(values.targets, TARGETS),
    client,
    profile: values.profile ?? false,
    build: !values['no-build'],
  };
}

/** One timed run against one server. */
interface Measured {
  label: string;
  kind: 'sink' | 'mailroom';
  store: TargetName;
  run: LoadRun;
  split: CpuSplit | null;
  /** CPU seconds of the server's process tree during the run. */
  serverCpuSeconds: number | null;
  /** Of which its main thread (the event loop). */
  mainThreadCpuSeconds: number | null;
  postgresCpuSeconds: number | null;
  commits: number | null;
  verified: string;
  ok: boolean;
  problems: string[];
}

interface ParserRun {
  reports: number;
  bytes: number;
  parseBounce: number;
  simpleParser: number;
}

const number = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function api<T>(base: string, key: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${body === undefined ? 'GET' : 'POST'} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

interface Seeded {
  id: string;
  to: string;
}

/** Stores `count` messages through POST /emails/bulk, 1,000 per call; their ids and recipients in order. */
async function seedMessages(base: string, key: string, count: number): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
  for (let start = 0; start < count; start += BULK) {
    const messages = Array.from({ length: Math.min(BULK, count - start) }, (_, index) => ({
      to: `rcpt${start + index}@customer.bench.test`, from: FROM, subject: SUBJECT,
      text: `Hello, your order ${start + index} is on its way. Track it in your account.`,
    }));
    const body = await api<{ data: { data?: { id: string; status: string } }[] }>(base, key, '/emails/bulk', { messages });
    body.data.forEach((result, index) => {
      if (!result.data || result.data.status !== 'QUEUED') throw new Error(`seeding: message ${start + index} was not queued: ${JSON.stringify(result)}`);
      seeded.push({ id: result.data.id, to: messages[index]!.to });
    });
  }
  return seeded;
}

/** Waits until the queue is empty, then counts DELIVERED messages through the API. */
async function waitDelivered(base: string, key: string, count: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const queue = await api<{ data: unknown[] }>(base, key, '/queue');
    if (queue.data.length === 0) break;
    if (Date.now() - started > timeoutMs) throw new Error(`messages still queued after ${timeoutMs / 1000} s: ${JSON.stringify(queue.data).slice(0, 300)}`);
    await sleep(250);
  }
  let delivered = 0;
  let cursor: string | null = null;
  do {
    const page: { data: unknown[]; meta: { pagination: { nextCursor: string | null } } } = await api(base, key, `/emails?status=DELIVERED&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    delivered += page.data.length;
    cursor = page.meta.pagination.nextCursor;
  } while (cursor);
  if (delivered !== count) throw new Error(`${delivered} of ${count} messages DELIVERED after the queue emptied`);
}

/** The report for each message: a DSN to its VERP Return-Path (recipient 0, as delivery made it). */
function buildReports(verp: Verp, seeded: readonly Seeded[]): Report[] {
  return seeded.map(({ id, to }, sequence) => {
    const returnPath = verp.address({ messageId: id, recipientIndex: 0, bounceDomain: BOUNCE_DOMAIN });
    return { to: returnPath, raw: postfixDsn({ returnPath, recipient: to, messageId: id, from: FROM, subject: SUBJECT, sequence }) };
  });
}

/** parseBounce against simpleParser over the same bytes, one after the other, after a warm-up of each. */
async function measureParsers(reports: readonly Report[]): Promise<ParserRun> {
  const raws = reports.map((report) => report.raw);
  const bytes = raws.reduce((sum, raw) => sum + raw.length, 0);
  const warm = raws.slice(0, Math.min(500, raws.length));
  for (const raw of warm) parseBounce(raw);
  for (const raw of warm) await simpleParser(raw);
  let started = performance.now();
  let hard = 0;
  for (const raw of raws) {
    const report = parseBounce(raw);
    if (report.kind === 'bounce' && report.recipients[0]?.hard && report.recipients[0].status === '5.1.1') hard++;
  }
  const parseSeconds = (performance.now() - started) / 1000;
  if (hard !== raws.length) throw new Error(`parseBounce read ${hard} of ${raws.length} DSNs as a hard 5.1.1 bounce`);
  started = performance.now();
  for (const raw of raws) await simpleParser(raw);
  const simpleSeconds = (performance.now() - started) / 1000;
  return { reports: raws.length, bytes, parseBounce: raws.length / parseSeconds, simpleParser: raws.length / simpleSeconds };
}

function describeRun(run: LoadRun): string {
  return `${run.seconds.toFixed(2)} s, ${number(reportsPerSecond(run))}/s, p50 ${run.latency.p50.toFixed(2)} ms, p99 ${run.latency.p99.toFixed(2)} ms, ${number(run.accepted)} accepted, ${run.refused} refused`;
}

async function measureSink(store: TargetName, reports: readonly Report[], options: Options): Promise<Measured> {
  const sink = await startCountingSink(Math.max(1000, options.connections * 2));
  try {
    process.stdout.write(`  smtp-sink: ${number(reports.length)} DSNs over ${options.connections} connections to 127.0.0.1:${sink.port} ... `);
    const counted = sink.count();
    const before = cpuSnapshot();
    const tree = treeSnapshot(sink.pid);
    const run = await sendReports(reports, { port: sink.port, connections: options.connections, client: options.client });
    const serverCpuSeconds = treeCpuSeconds(tree, treeSnapshot(sink.pid));
    const split = cpuSplit(before, cpuSnapshot(), sink.pid);
    console.log(describeRun(run));
    for (let i = 0; i < 50 && sink.count() - counted < reports.length; i++) await sleep(100);
    const received = sink.count() - counted;
    const problems = run.refusals.map((refusal) => `refused: ${refusal}`);
    const ok = received === reports.length && run.accepted === reports.length;
    if (received !== reports.length) problems.push(`smtp-sink counted ${received} messages, expected ${reports.length}`);
    return {
      label: 'smtp-sink (reference)', kind: 'sink', store, run, split, serverCpuSeconds, mainThreadCpuSeconds: null, postgresCpuSeconds: null, commits: null,
      verified: `${ok ? 'yes' : 'NO'} (${number(received)} counted)`, ok, problems,
    };
  } finally {
    await sink.stop();
  }
}

interface Verification {
  messages: number;
  bounced: number;
  events: number;
  eventMessages: number;
  hardUserUnknown: number;
  suppressed: number;
  statuses: Record<string, number>;
}

const VERIFY_SQL = `SELECT
  (SELECT count(*)::int FROM messages) AS messages,
  (SELECT count(*)::int FROM messages WHERE status = 'BOUNCED') AS bounced,
  (SELECT count(*)::int FROM message_events WHERE type = 'BOUNCED') AS events,
  (SELECT count(DISTINCT message_id)::int FROM message_events WHERE type = 'BOUNCED') AS "eventMessages",
  (SELECT count(*)::int FROM message_events WHERE type = 'BOUNCED' AND details->>'bounceClass' = 'HARD' AND details->>'reason' = 'userunknown') AS "hardUserUnknown",
  (SELECT count(*)::int FROM messages m JOIN suppressions s ON s.account_id = m.account_id AND s.address = lower(m.to_address) AND s.reason = 'HARD_BOUNCE') AS suppressed`;
const STATUS_SQL = 'SELECT status, count(*)::int AS n FROM messages GROUP BY status ORDER BY status';

async function verify(kind: TargetName, url: string | null, dataDir: string): Promise<Verification> {
  const read = async (query: <T>(sql: string) => Promise<T[]>): Promise<Verification> => {
    const [counts] = await query<Omit<Verification, 'statuses'>>(VERIFY_SQL);
    const statuses = await query<{ status: string; n: number }>(STATUS_SQL);
    return { ...counts!, statuses: Object.fromEntries(statuses.map((row) => [row.status, row.n])) };
  };
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url! });
    await client.connect();
    try {
      return await read(async <T>(sql: string) => (await client.query(sql)).rows as T[]);
    } finally {
      await client.end();
    }
  }
  const { openPglite } = await import('../src/db/pglite.js');
  const db = await openPglite(dataDir);
  try {
    return await read(async <T>(sql: string) => (await db.query(sql)) as T[]);
  } finally {
    await db.close();
  }
}

/** Lines Mailroom logs at warn that this benchmark causes on purpose. */
const EXPECTED_LOG = /generated a self-signed certificate|for its reputation/;

async function measureTarget(kind: TargetName, options: Options, profileRoot: string, results: Measured[], parser: { run: ParserRun | null }): Promise<string | null> {
  const dataDir = mkdtempSync(join(tmpdir(), `mailroom-bench-bounces-${kind}-`));
  const removeDataDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const database = kind === 'postgres' ? await createScratchDatabase() : null;
  let child: Child | null = null;
  let profile: string | null = null;
  try {
    const [httpPort, mxPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${httpPort}`;
    const key = `mr_bench_${randomBytes(18).toString('hex')}`;
    const encryptionKey = randomBytes(32);
    const env: Record<string, string> = {
      MAILROOM_ROLES: 'api,worker,mx',
      MAILROOM_TRANSPORT: 'sandbox',
      MAILROOM_HOST: '127.0.0.1',
      MAILROOM_HTTP_PORT: String(httpPort),
      MAILROOM_MX_PORT: String(mxPort),
      MAILROOM_BOUNCE_DOMAIN: BOUNCE_DOMAIN,
      MAILROOM_ENCRYPTION_KEY: encryptionKey.toString('base64'),
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_BOOTSTRAP_API_KEY: key,
      MAILROOM_LOG_LEVEL: 'warn',
    };
    if (database) env.MAILROOM_DATABASE_URL = database.url;
    const profileDir = join(profileRoot, kind);
    if (options.profile) mkdirSync(profileDir, { recursive: true });
    const profileArgs = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const startedAt = Date.now();
    child = startChild(`mailroom (${kind})`, process.execPath, [...profileArgs, 'dist/cli/main.js', 'start'], { cwd: ROOT, env: childEnv(env) });
    await waitForOk(`${base}/readyz`, child, 180_000);
    console.log(`  ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s (HTTP ${httpPort}, MX ${mxPort})`);

    let step = Date.now();
    process.stdout.write(`  preparation: storing ${number(options.messages)} messages (POST /emails/bulk, ${number(BULK)} each) ... `);
    const seeded = await seedMessages(base, key, options.messages);
    process.stdout.write(`${((Date.now() - step) / 1000).toFixed(1)} s; delivering (sandbox) ... `);
    step = Date.now();
    await waitDelivered(base, key, seeded.length, 600_000);
    console.log(`${((Date.now() - step) / 1000).toFixed(1)} s, all DELIVERED`);
    const reports = buildReports(new Verp(new KeyRing(encryptionKey)), seeded);
    const bytes = reports.reduce((sum, report) => sum + report.raw.length, 0);
    console.log(`  reports: one Postfix-style DSN (5.1.1 user unknown, text/rfc822-headers) per message, ${number(bytes / reports.length)} bytes on average, to its VERP Return-Path`);

    if (!parser.run) {
      process.stdout.write(`  parsers, in this process: parseBounce and simpleParser over the same ${number(reports.length)} DSNs ... `);
      parser.run = await measureParsers(reports);
      console.log(`parseBounce ${number(parser.run.parseBounce)}/s, simpleParser ${number(parser.run.simpleParser)}/s`);
    }

    // The reference first, with these very reports (Mailroom idles meanwhile; its CPU counts as "other").
    const sink = await measureSink(kind, reports, options);
    results.push(sink);
    console.log(`    ${formatSplit(sink.split, 'smtp-sink')}`);

    const pid = child.process.pid!;
    const commitsBefore = database ? await commitCount(database.name) : null;
    process.stdout.write(`  Mailroom MX: ${number(reports.length)} DSNs over ${options.connections} connections to 127.0.0.1:${mxPort} ... `);
    const mainBefore = mainThreadCpuSeconds(pid);
    const tree = treeSnapshot(pid);
    const before = cpuSnapshot();
    const run = await sendReports(reports, { port: mxPort, connections: options.connections, client: options.client, expectReply: /BOUNCED/ });
    const after = cpuSnapshot();
    const serverCpuSeconds = treeCpuSeconds(tree, treeSnapshot(pid));
    const mainAfter = mainThreadCpuSeconds(pid);
    const split = cpuSplit(before, after, pid);
    console.log(describeRun(run));
    console.log(`    ${formatSplit(split, 'mailroom')}`);
    const mainThread = mainBefore !== null && mainAfter !== null ? mainAfter - mainBefore : null;
    if (split && mainThread !== null) console.log(`    mailroom's main thread (event loop): ${(mainThread / split.seconds).toFixed(2)} cores of its ${(serverCpuSeconds / split.seconds).toFixed(2)}`);
    const problems = run.refusals.map((refusal) => `refused: ${refusal}`);
    if (run.matched !== run.accepted) problems.push(`${run.accepted - run.matched} of ${run.accepted} 250s did not say BOUNCED (e.g. "${run.sampleReplies[0] ?? ''}")`);

    const exit = await child.stop('SIGTERM');
    if (exit.code !== 0) problems.push(`mailroom exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    const logged = child.output();
    const unexpected = logged.tail.filter((line) => !EXPECTED_LOG.test(line));
    if (unexpected.length > 0) problems.push(`mailroom logged unexpected line(s) at warn or above; the last: ${unexpected.slice(-3).join(' | ')}`);
    const commits = database && commitsBefore !== null ? (await commitCount(database.name)) - commitsBefore : null;
    if (options.profile) {
      const file = mainThreadProfile(profileDir);
      profile = file ? formatProfile(summarizeProfile(file, ROOT, run.monotonicWindowUs), ROOT, reports.length) : `no .cpuprofile written in ${profileDir}`;
    }

    const counts = await verify(kind, database?.url ?? null, dataDir);
    const n = reports.length;
    const checks: [string, boolean][] = [
      [`${number(counts.bounced)} of ${number(counts.messages)} messages BOUNCED ${JSON.stringify(counts.statuses)}`, counts.messages === n && counts.bounced === n],
      [`${number(counts.events)} BOUNCED events on ${number(counts.eventMessages)} messages (${number(counts.hardUserUnknown)} HARD userunknown)`, counts.events === n && counts.eventMessages === n && counts.hardUserUnknown === n],
      [`${number(counts.suppressed)} recipients suppressed as HARD_BOUNCE`, counts.suppressed === n],
    ];
    for (const [text, good] of checks) {
      console.log(`  check: ${text}: ${good ? 'OK' : 'MISMATCH'}`);
      if (!good) problems.push(`verification: ${text}, expected ${number(n)}`);
    }
    if (commits !== null) console.log(`  postgresql: ${number(commits)} transactions committed during the run and the stop (${(commits / n).toFixed(2)} per report)`);
    const ok = checks.every(([, good]) => good) && run.accepted === n && run.refused === 0;
    results.push({
      label: `Mailroom MX, ${STORE[kind]}`, kind: 'mailroom', store: kind, run, split, serverCpuSeconds, mainThreadCpuSeconds: mainThread,
      postgresCpuSeconds: database && split ? split.postgres * split.seconds : null, commits,
      verified: `${ok ? 'yes' : 'NO'} (${number(counts.bounced)} BOUNCED, ${number(counts.events)} events, ${number(counts.suppressed)} suppressed)`, ok, problems,
    });
    return profile;
  } finally {
    await child?.stop();
    await database?.drop();
    await removeDataDir();
  }
}

function table(results: Measured[]): string {
  const header = ['target', 'reports', 'seconds', 'reports/s', 'ratio to smtp-sink', 'p50 ms', 'p99 ms', 'server CPU s per 1,000', 'PostgreSQL CPU s per 1,000', 'verified'];
  const rows = results.map((result) => {
    const reference = results.find((other) => other.kind === 'sink' && other.store === result.store);
    const perThousand = (seconds: number | null) => (seconds === null ? '-' : ((seconds * 1000) / result.run.sent).toFixed(2));
    return [
      result.kind === 'sink' ? `${result.label} [${STORE[result.store]} run]` : result.label,
      number(result.run.sent),
      result.run.seconds.toFixed(2),
      number(reportsPerSecond(result.run)),
      reference ? (reportsPerSecond(result.run) / reportsPerSecond(reference.run)).toFixed(2) : '-',
      result.run.latency.p50.toFixed(2),
      result.run.latency.p99.toFixed(2),
      perThousand(result.serverCpuSeconds),
      perThousand(result.postgresCpuSeconds),
      result.verified,
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const left = (column: number) => column === 0 || column === header.length - 1;
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (left(column) ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (left(column) ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const command = invocation(['bounces', ...args]);
  const started = new Date();
  console.log(`bounces benchmark, ${started.toISOString()}`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  if (options.targets.includes('postgres')) {
    try {
      const [version, settings] = await Promise.all([serverVersion(), durabilitySettings()]);
      console.log(`postgresql: ${version} at ${new URL(BENCH_SERVER_URL).host}, ${Object.entries(settings).map(([name, value]) => `${name}=${value}`).join(', ')}`);
    } catch (error) {
      throw new UsageError(`cannot reach PostgreSQL (${(error as Error).message}): start it, set MAILROOM_BENCH_DATABASE_URL, or use --targets=pglite`);
    }
  }
  console.log(`postfix: ${postfixVersion()} (smtp-sink)`);
  console.log(
    `load: ${options.client === 'raw' ? 'pipelining SMTP client (MAIL, RCPT, DATA in one write)' : "Nodemailer's pooled transport"}, ${options.connections} connections opened before the clock starts and reused, ` +
      `${number(options.messages)} DSNs, one per message, each to its message's VERP address`,
  );
  if (options.build) buildDist();

  const profileRoot = join(tmpdir(), `mailroom-bench-bounces-profile-${started.getTime()}`);
  const results: Measured[] = [];
  const failures: string[] = [];
  const profiles: string[] = [];
  const parser: { run: ParserRun | null } = { run: null };
  for (const kind of options.targets) {
    console.log(`\nMailroom (roles api,worker,mx), ${STORE[kind]}`);
    try {
      const profile = await measureTarget(kind, options, profileRoot, results, parser);
      if (profile) profiles.push(`Mailroom MX, ${STORE[kind]}: ${profile}`);
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      failures.push(`${STORE[kind]}: failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  console.log(`\nResults (${options.connections} connections, ${options.client} client, ${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(results));
  console.log(
    '\nreports/s = DSNs answered 250 / seconds from the first report written to the last reply (connections already open); ' +
      `p50/p99 = ${options.client === 'raw' ? 'from the end of DATA (the final ".") to the reply' : 'per transaction (sendMail to its result)'};\n` +
      'ratio = reports/s over the smtp-sink run with the same reports just before; server CPU = smtp-sink or the Mailroom process (all threads) per 1,000 reports; ' +
      'PostgreSQL CPU = all postgres processes on the machine in that time.',
  );
  if (parser.run) {
    const p = parser.run;
    console.log(
      `\nparsers, in-process, ${number(p.reports)} DSNs of ${number(p.bytes / p.reports)} bytes: parseBounce ${number(p.parseBounce)}/s (${(1e6 / p.parseBounce).toFixed(0)} µs each), ` +
        `mailparser simpleParser ${number(p.simpleParser)}/s (${(1e6 / p.simpleParser).toFixed(0)} µs each): ratio parseBounce/simpleParser ${(p.parseBounce / p.simpleParser).toFixed(2)}`,
    );
  }

  const notes = [...failures];
  for (const result of results) {
    const where = result.kind === 'sink' ? `${result.label} [${STORE[result.store]} run]` : result.label;
    for (const problem of new Set(result.problems)) notes.push(`${where}: ${problem}`);
    if (result.split) {
      const perReportUs = (result.split.loadGenerator * result.split.seconds * 1e6) / result.run.sent;
      notes.push(`${where}: the client used ${result.split.loadGenerator.toFixed(2)} cores (${perReportUs.toFixed(0)} µs per report)${result.split.loadGenerator > 0.85 ? ': near one core, the client limits this rate' : ''}`);
      if (result.split.other > 0.25) notes.push(`${where}: other processes used ${result.split.other.toFixed(2)} cores during the run: the machine was not quiet`);
    }
  }
  if (notes.length > 0) console.log(`\nnotes:\n${notes.map((note) => `  ${note}`).join('\n')}`);
  if (profiles.length > 0) console.log(`\n${profiles.join('\n\n')}`);

  const bad = results.filter((result) => !result.ok);
  if (bad.length > 0) console.error(`\nFAILED: ${bad.map((result) => `${result.label} [${STORE[result.store]}] (${result.verified})`).join(', ')}`);
  return failures.length > 0 || bad.length > 0 ? 1 : 0;
}
