/**
 * hipaa: what HIPAA mode (docs/HIPAA.md) costs on the two hot paths, measured beside the same load
 * on a standard account in the same run, on PostgreSQL and on PGlite. Issue 17's target: at least
 * 0.8 of the standard path's rate on both.
 *
 * Every run has a fresh store holding both accounts: `default` (standard, a verified domain) and
 * `clinic` (created with `hipaa: true`, its own key and verified domain), and every Mailroom
 * process of a run gets the same settings, the HIPAA API listener included; only the listener
 * and the key that the load uses differ.
 *
 *   ingest    `POST /emails` with the seed request (its `from` on the account's domain), closed
 *             loop as in `ingest` and `policy` (autocannon, 64 connections), api role only. The
 *             standard account on the standard listener; the HIPAA account on the HIPAA listener
 *             in its plain-HTTP loopback mode (MAILROOM_HIPAA_HTTP_PLAIN=1), so that the ratio is
 *             the HIPAA path's own work (the door, the audit entry written before the answer,
 *             the encryption at rest), not TLS. After each run: rows stored = 2xx answers; the
 *             HIPAA run's rows all sealed, each with its one message_keys row, every request audited.
 *   delivery  N messages queued (POST /emails/bulk, api role), then timed from a worker-only
 *             process's spawn until the sink has them all: mx transport, DKIM RSA-2048, recipients
 *             over 100 domains whose MX hosts (a DNS server started here) all lead to one sink on
 *             loopback that offers STARTTLS with a certificate of a CA made here and trusted
 *             through MAILROOM_OUTBOUND_CA_FILE. The standard account's mail takes STARTTLS
 *             opportunistically, the HIPAA account's must verify it, so both pay TLS. The HIPAA
 *             run then waits for the worker's shredder to shred every message. After each run:
 *             all DELIVERED, queue empty, no duplicate, all received inside TLS; HIPAA: no data
 *             key left and every message's content 'shredded'.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccount } from '../src/accounts/accounts.js';
import { createKey } from '../src/accounts/apiKeys.js';
import type { Database } from '../src/db/database.js';
import { addDomain } from '../src/domains/domains.js';
import { startDnsServer, type Zone } from '../test/helpers/dnsServer.js';
import { HTTP_LOAD_OPTIONS, httpLoadValues, parseBenchOptions, positiveInteger, targetList } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { cpuSnapshot, cpuSplit, formatSplit, perRequestUs, type CpuSplit } from './lib/cpu.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuProfile.js';
import { createDeliveryStore, storeCounts, type DeliveryStore } from './lib/deliveryStore.js';
import { SEED_REQUEST, STORE_LABELS, type StoreKind } from './lib/mailroomApi.js';
import { measurementProblems, profileFlags, profileReport, warmAndMeasure, type Measured } from './lib/measure.js';
import { backendPids, commitCount, describeBenchServer } from './lib/postgres.js';
import { buildDist, printPreamble, ROOT } from './lib/preamble.js';
import { childEnv, freePort, startChild, waitForOk, type Child } from './lib/processes.js';
import { number } from './lib/smtpReport.js';
import { markdownTable } from './lib/table.js';
import { startTlsSink, type TlsSink } from './lib/tlsSink.js';

export const description = 'HIPAA accounts beside standard ones in the same run: POST /emails (sealed at rest, audited) and delivery over verified TLS with shredding, on PostgreSQL and PGlite';

/** Issue 17: the HIPAA paths at least this share of the standard ones' rates. */
const TARGET_RATIO = 0.8;

const TARGETS = ['postgres', 'pglite'] as const;
const PHASES = ['ingest', 'delivery'] as const;
type Phase = (typeof PHASES)[number];
type Path = 'standard' | 'hipaa';

/**
 * The two accounts of every store. The domains have the same length, so that both accounts'
 * requests and messages have the same size.
 */
const ACCOUNTS: Record<Path, { name: string; key: string; domain: string; label: string }> = {
  standard: { name: 'default', key: 'mr_bench_hipaa_standard_0123456789abcdef', domain: 'shop.bench.test', label: 'standard account, standard listener' },
  hipaa: { name: 'clinic', key: 'mr_bench_hipaa_clinic_0123456789abcdef', domain: 'care.bench.test', label: 'HIPAA account, HIPAA listener (plain HTTP, loopback)' },
};
const ROUND_ORDER: readonly (readonly Path[])[] = [['standard', 'hipaa'], ['hipaa', 'standard']];

const RECIPIENT_DOMAINS = 100;
/** One label under bench.test, so that the sink's one wildcard name covers every MX host. */
const mxHost = (index: number) => `mx-d${index}.bench.test`;
/** About 720 bytes of text, as in `delivery`: the composed message is about 1 KB before its DKIM signature. */
const BODY = 'Your order has shipped and is on its way. Track it in your account at any time.\n'.repeat(9);
/** Queueing through POST /emails/bulk: messages per request, requests in flight. */
const BULK_BATCH = 1000;
const BULK_PARALLEL = 4;
/** How long the sink may see nothing new, and the shredder may fall behind, before the run fails. */
const STALL_MS = 60_000;
const SHRED_WAIT_MS = 60_000;
/** The warning every process with the plain-HTTP HIPAA listener logs at start (src/hipaa/tls.ts): expected here. */
const PLAIN_HTTP_WARNING = 'the HIPAA API listens over plain HTTP on loopback';

const USAGE = `npm run bench -- hipaa [--phases=ingest,delivery] [--targets=postgres,pglite] [--duration=SECONDS] [--warmup=SECONDS]
                         [--connections=N] [--messages=N] [--concurrency=N] [--rounds=N] [--profile] [--no-build]

  --phases       ingest (POST /emails, closed loop) and/or delivery (queued messages to a TLS sink); default both
  --targets      the databases, in this order (default both)
  --duration     ingest: measured seconds per run (default 10)
  --warmup       ingest: warm-up seconds before each measured run (default 2)
  --connections  ingest: concurrent connections (default 64)
  --messages     delivery: messages per run (default 10000 on PostgreSQL, 5000 on PGlite, whose runs are
                 slower: the default run stays within about 5 minutes on a busy 2-core machine)
  --concurrency  delivery: the worker's concurrency and its per-destination connection limit (default 100)
  --rounds       pairs of runs (standard and HIPAA) per phase and database, the order swapped every
                 round (default 1); the verdict takes the median of the rounds' ratios
  --profile      run the measured process (ingest: the api process; delivery: the worker) under node --cpu-prof
                 and print its main thread's hottest functions during the measured part (profiling slows
                 it down: do not quote those rates)
  --no-build     use dist/ as it is instead of running npm run build first

Every run has a fresh store: a scratch database mr_bench_<random> on postgres://postgres@127.0.0.1:5432
(MAILROOM_BENCH_DATABASE_URL overrides) or a PGlite directory, removed afterwards.`;

interface Options {
  phases: Phase[];
  targets: StoreKind[];
  seconds: number;
  warmupSeconds: number;
  connections: number;
  /** Delivery's messages per run, by database. */
  messages: Record<StoreKind, number>;
  concurrency: number;
  rounds: number;
  /** Where the CPU profiles go (--profile), one directory per run below it; null without. */
  profileRoot: string | null;
  build: boolean;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    ...HTTP_LOAD_OPTIONS, phases: { type: 'string' }, messages: { type: 'string' }, concurrency: { type: 'string' }, rounds: { type: 'string' },
    profile: { type: 'boolean' }, 'no-build': { type: 'boolean' },
  }, USAGE);
  if (!values) return null;
  return {
    ...httpLoadValues(values, 10),
    phases: targetList(values.phases, PHASES, 'phases'),
    targets: targetList(values.targets, TARGETS),
    messages: {
      postgres: positiveInteger('messages', values.messages, 10_000, 1_000_000),
      pglite: positiveInteger('messages', values.messages, 5_000, 1_000_000),
    },
    concurrency: positiveInteger('concurrency', values.concurrency, 100, 1000),
    rounds: positiveInteger('rounds', values.rounds, 1, 20),
    profileRoot: values.profile ? join(ROOT, '.bench', 'profiles', `hipaa-${new Date().toISOString().replace(/[:.]/g, '-')}`) : null,
    build: !values['no-build'],
  };
}

// ---- the store and its processes ----

/**
 * A fresh store with both accounts, prepared in this process before any Mailroom process opens
 * it (PGlite's directory has one owner at a time): the standard `default` account as `delivery`
 * prepares it, then the HIPAA account as `mailroom accounts create clinic --hipaa`, `keys create`
 * and `domains add --verified` would make it.
 */
async function prepareStore(kind: StoreKind): Promise<DeliveryStore> {
  const store = await createDeliveryStore(kind, ACCOUNTS.standard.key, ACCOUNTS.standard.domain);
  try {
    const db = await store.open();
    try {
      const account = await createAccount(db, store.sealer, ACCOUNTS.hipaa.name, { hipaa: true });
      await createKey(db, { accountName: account.name, name: 'bench', key: ACCOUNTS.hipaa.key });
      await addDomain(db, store.sealer, account.id, ACCOUNTS.hipaa.domain, { verified: true });
    } finally {
      await db.close();
    }
  } catch (error) {
    await store.remove();
    throw error;
  }
  return store;
}

/**
 * What a Mailroom process logs (pino's JSON lines): lines at warn or above other than the
 * expected plain-HTTP warning are problems; the shredder's info lines are summed, the only way
 * to follow shredding on PGlite, whose store this process cannot read while the worker holds it.
 */
class LogWatch {
  shredded = 0;
  private unexpected = 0;
  private readonly last: string[] = [];
  private waiters: { target: number; resolve: (at: number) => void }[] = [];

  constructor(child: Child) {
    for (const stream of [child.process.stdout, child.process.stderr]) {
      let partial = '';
      stream?.on('data', (chunk: string | Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.line(line);
      });
    }
  }

  private line(line: string): void {
    let entry: { level?: number; msg?: string; shredded?: number } | null = null;
    try {
      entry = JSON.parse(line) as { level?: number; msg?: string; shredded?: number };
    } catch {
      // not pino's: counted below as unexpected
    }
    if (entry && entry.msg === 'HIPAA messages shredded' && typeof entry.shredded === 'number') {
      this.shredded += entry.shredded;
      const now = performance.now();
      const reached = this.waiters.filter((waiter) => this.shredded >= waiter.target);
      this.waiters = this.waiters.filter((waiter) => this.shredded < waiter.target);
      for (const waiter of reached) waiter.resolve(now);
      return;
    }
    if (entry && (entry.level ?? 0) < 40) return;
    if (entry?.msg?.startsWith(PLAIN_HTTP_WARNING)) return;
    this.unexpected++;
    this.last.push(line.slice(0, 300));
    if (this.last.length > 3) this.last.shift();
  }

  /** When (performance.now()) the shredder had reported `target` messages; rejects after `timeoutMs`. */
  shreddedAt(target: number, timeoutMs: number): Promise<number> {
    if (this.shredded >= target) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the shredder reported ${number(this.shredded)} of ${number(target)} messages shredded after ${timeoutMs / 1000} s`)), timeoutMs);
      this.waiters.push({
        target,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  problems(name: string): string[] {
    return this.unexpected === 0 ? [] : [`${name} logged ${this.unexpected} unexpected line(s) at warn or above; the last: ${this.last.join(' | ')}`];
  }
}

interface Running {
  child: Child;
  log: LogWatch;
  /** The standard listener and the HIPAA listener (api role), http://127.0.0.1:port. */
  urls: Record<Path, string>;
}

/** The settings of every Mailroom process of a run (both paths alike); `extra` is the phase's. */
function mailroomEnv(store: DeliveryStore, extra: Record<string, string>): Record<string, string> {
  return {
    MAILROOM_HOST: '127.0.0.1',
    MAILROOM_DATA_DIR: store.dataDir,
    ...(store.databaseUrl ? { MAILROOM_DATABASE_URL: store.databaseUrl } : {}),
    MAILROOM_BOOTSTRAP_API_KEY: ACCOUNTS.standard.key,
    MAILROOM_HIPAA_HTTP_PLAIN: '1',
    ...extra,
  };
}

/** `start --roles api` with both listeners; resolves once each answers /readyz. */
async function startApi(store: DeliveryStore, env: Record<string, string>, profileDir: string | null = null): Promise<Running> {
  const port = await freePort();
  let hipaaPort = await freePort();
  while (hipaaPort === port) hipaaPort = await freePort();
  const child = startChild(`mailroom api (${store.kind})`, process.execPath, [...profileFlags(profileDir), 'dist/cli/main.js', 'start', '--roles', 'api'], {
    cwd: ROOT,
    env: childEnv({ ...mailroomEnv(store, env), MAILROOM_LOG_LEVEL: 'warn', MAILROOM_HTTP_PORT: String(port), MAILROOM_HIPAA_HTTP_PORT: String(hipaaPort) }),
  });
  const log = new LogWatch(child);
  const urls = { standard: `http://127.0.0.1:${port}`, hipaa: `http://127.0.0.1:${hipaaPort}` };
  try {
    // The HIPAA listener opens after the standard one: both must answer.
    for (const url of Object.values(urls)) await waitForOk(`${url}/readyz`, child, 180_000);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { child, log, urls };
}

/** SIGTERM (drain, close the store), then what went wrong. */
async function stopMailroom(running: { child: Child; log: LogWatch }, name: string): Promise<string[]> {
  const exit = await running.child.stop('SIGTERM');
  return [...(exit.code === 0 ? [] : [`${name} exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`]), ...running.log.problems(name)];
}

const authorized = (path: Path) => ({ 'content-type': 'application/json', authorization: `Bearer ${ACCOUNTS[path].key}` });

/** What the store holds of the run's messages, read after its processes stopped. */
interface AtRest {
  messages: number;
  /** Rows whose content is sealed (a HIPAA message not shredded yet), and rows whose content was shredded. */
  sealed: number;
  shredded: number;
  /** message_keys rows, and messages with their key. */
  keys: number;
  keyed: number;
  audited: number;
  queued: number;
  delivered: number;
}

/** Reads the store (PGlite: only while no Mailroom process holds it). */
async function withStore<T>(store: DeliveryStore, read: (db: Database) => Promise<T>): Promise<T> {
  const db = await store.open();
  try {
    return await read(db);
  } finally {
    await db.close();
  }
}

async function atRest(store: DeliveryStore): Promise<AtRest> {
  return withStore(store, async (db) => {
    const [row] = await db.query<{ [K in keyof AtRest]: number }>(`SELECT
      (SELECT count(*) FROM messages)::int AS messages,
      (SELECT count(*) FROM messages WHERE content->>'kind' = 'sealed')::int AS sealed,
      (SELECT count(*) FROM messages WHERE content->>'kind' = 'shredded')::int AS shredded,
      (SELECT count(*) FROM message_keys)::int AS keys,
      (SELECT count(*) FROM messages m JOIN message_keys k ON k.message_id = m.id)::int AS keyed,
      (SELECT count(*) FROM audit_log)::int AS audited,
      (SELECT count(*) FROM queue)::int AS queued,
      (SELECT count(*) FROM messages WHERE status = 'DELIVERED')::int AS delivered`);
    return row!;
  });
}

/** The directory of one run's CPU profile (--profile), or null. */
function runDirectory(options: Options, kind: StoreKind, phase: Phase, path: Path, round: number): string | null {
  return options.profileRoot ? join(options.profileRoot, kind, `${phase}-${path}-${round + 1}`) : null;
}

/** The ratio the target is about: HIPAA over standard, within one round. */
const ratioOf = (hipaa: number | undefined, standard: number | undefined) => (hipaa !== undefined && standard ? hipaa / standard : undefined);

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ---- ingest ----

interface IngestOutcome {
  phase: 'ingest';
  kind: StoreKind;
  path: Path;
  round: number;
  measured?: Measured;
  acknowledged?: number;
  stored?: AtRest;
  commits?: number | null;
  failures: string[];
  problems: string[];
  profile?: string;
}

const seedBody = (path: Path) => JSON.stringify({ ...SEED_REQUEST, from: `promo@${ACCOUNTS[path].domain}` });

async function measureIngest(kind: StoreKind, path: Path, round: number, options: Options): Promise<IngestOutcome> {
  const outcome: IngestOutcome = { phase: 'ingest', kind, path, round, failures: [], problems: [] };
  console.log(`\n${STORE_LABELS[kind]}, ingest, ${ACCOUNTS[path].label}${options.rounds > 1 ? `, round ${round + 1}` : ''}`);
  let store: DeliveryStore | null = null;
  try {
    store = await prepareStore(kind);
    const scratch = store.scratch;
    const profileDir = runDirectory(options, kind, 'ingest', path, round);
    // Sandbox transport, as in `ingest`, but with the sender check on: both accounts send from their verified domain.
    const api = await startApi(store, { MAILROOM_REQUIRE_VERIFIED_SENDER: 'on' }, profileDir);
    const commitsBefore = scratch ? await commitCount(scratch.name) : null;
    let measured: Measured;
    try {
      measured = await warmAndMeasure(
        { url: `${api.urls[path]}/emails`, method: 'POST', headers: authorized(path), body: seedBody(path), connections: options.connections },
        options,
        { server: api.child, name: 'mailroom', ...(scratch ? { postgresBackends: () => backendPids(scratch.name) } : {}) },
      );
    } finally {
      outcome.problems.push(...(await stopMailroom(api, 'mailroom')));
    }
    outcome.measured = measured;
    outcome.problems.push(...measurementProblems(measured));
    if (profileDir) outcome.profile = profileReport(profileDir, measured.result);
    // Backends report their commits at the latest when they exit: after the stop, the count is complete.
    outcome.commits = scratch && commitsBefore !== null ? (await commitCount(scratch.name)) - commitsBefore : null;

    const stored = await atRest(store);
    const acknowledged = measured.warmup.ok + measured.result.ok;
    outcome.stored = stored;
    outcome.acknowledged = acknowledged;
    const verify = (ok: boolean, line: string) => {
      console.log(`  ${line}: ${ok ? 'OK' : 'MISMATCH'}`);
      if (!ok) outcome.failures.push(line);
    };
    verify(stored.messages === acknowledged, `${number(acknowledged)} acknowledged (2xx), ${number(stored.messages)} rows in messages`);
    if (path === 'hipaa') {
      verify(stored.sealed === stored.messages && stored.keyed === stored.messages && stored.keys === stored.messages,
        `at rest: ${number(stored.sealed)} of ${number(stored.messages)} rows sealed, ${number(stored.keyed)} with their message_keys row (${number(stored.keys)} keys)`);
      // The audit entry is written before the answer: every answered request is on record.
      verify(stored.audited >= acknowledged, `audit_log: ${number(stored.audited)} entries for ${number(acknowledged)} acknowledged requests`);
    } else {
      verify(stored.sealed === 0 && stored.keys === 0 && stored.audited === 0, `standard account: ${number(stored.sealed)} rows sealed, ${number(stored.keys)} data keys, ${number(stored.audited)} audit entries`);
    }
    if (outcome.commits !== null) console.log(`  postgresql: ${number(outcome.commits)} transactions committed for ${number(stored.messages)} messages`);
  } catch (error) {
    console.error(`  failed: ${(error as Error).message}`);
    outcome.failures.push(`failed: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    await store?.remove();
  }
  return outcome;
}

function ingestTable(outcomes: IngestOutcome[], rounds: number): string {
  const postgres = outcomes.some((outcome) => outcome.kind === 'postgres');
  const header = [
    ...(rounds > 1 ? ['round'] : []), 'account, listener', 'messages/s', 'p50 ms', 'p99 ms', 'server CPU µs/msg',
    ...(postgres ? ['PostgreSQL CPU µs/msg', 'commits/msg'] : []), 'ratio to standard', 'stored = 2xx', 'at rest',
  ];
  const rows = outcomes.map((outcome) => {
    const r = outcome.measured?.result;
    const cpu = outcome.measured?.cpu;
    const standard = outcomes.find((other) => other.round === outcome.round && other.path === 'standard')?.measured?.result.okPerSecond;
    const stored = outcome.stored;
    const atRestCell = !stored ? '-' : outcome.path === 'hipaa'
      ? `${number(stored.sealed)} sealed, ${number(stored.keys)} keys, ${number(stored.audited)} audited`
      : `${number(stored.messages - stored.sealed)} in clear`;
    return [
      ...(rounds > 1 ? [String(outcome.round + 1)] : []),
      ACCOUNTS[outcome.path].label,
      r ? number(r.okPerSecond) : 'failed',
      number(r?.latency.p50, 1),
      number(r?.latency.p99, 1),
      r && cpu ? number(perRequestUs(cpu.server, cpu, r.ok)) : '-',
      ...(postgres ? [r && cpu ? number(perRequestUs(cpu.postgres, cpu, r.ok)) : '-', outcome.commits && stored ? (outcome.commits / Math.max(1, stored.messages)).toFixed(3) : '-'] : []),
      number(ratioOf(r?.okPerSecond, standard), 2),
      stored ? `${stored.messages === outcome.acknowledged ? 'yes' : 'NO'} (${number(stored.messages)})` : '-',
      atRestCell,
    ];
  });
  return markdownTable(header, rows, rounds > 1 ? 2 : 1);
}

// ---- delivery ----

interface DeliveryOutcome {
  phase: 'delivery';
  kind: StoreKind;
  path: Path;
  round: number;
  messages: number;
  queueSeconds?: number;
  /** Spawn of the worker to the last message at the sink; the first to the last message at the sink. */
  seconds?: number;
  steadySeconds?: number;
  split?: CpuSplit | null;
  /** CPU seconds over the timed run: the worker, the PostgreSQL backends of the run's database, the sink. */
  workerCpu?: number | null;
  postgresCpu?: number | null;
  sinkCpu?: number | null;
  commits?: number | null;
  overTls?: number;
  /** Connections the sink accepted during the run. */
  connections?: number;
  extraAtSink?: number;
  /** Last message at the sink to the shredder's report of the last shredded message (HIPAA). */
  shredLagSeconds?: number;
  after?: AtRest;
  failures: string[];
  problems: string[];
  profile?: string;
}

function zone(): Zone {
  const entries: Zone = {};
  for (let index = 0; index < RECIPIENT_DOMAINS; index++) {
    entries[`d${index}.bench.test`] = { MX: [{ exchange: mxHost(index), priority: 10 }] };
    entries[mxHost(index)] = { A: ['127.0.0.1'] };
  }
  return entries;
}

/** Message `n` of a delivery run: the same for both accounts but for the sending domain (of the same length). */
function deliveryRequest(path: Path, n: number): Record<string, unknown> {
  return {
    from: `Orders <orders@${ACCOUNTS[path].domain}>`,
    to: `customer${n}@d${n % RECIPIENT_DOMAINS}.bench.test`,
    subject: `Your order ${n} has shipped`,
    text: BODY,
    externalId: `order-${n}`,
  };
}

/** Queues the run's messages through POST /emails/bulk on the account's listener; throws unless every one is accepted. */
async function queueMessages(base: string, path: Path, messages: number): Promise<number> {
  let accepted = 0;
  let next = 0;
  const send = async () => {
    while (next < messages) {
      const first = next;
      next = Math.min(messages, next + BULK_BATCH);
      const body = JSON.stringify({ messages: Array.from({ length: next - first }, (_, index) => deliveryRequest(path, first + index)) });
      const response = await fetch(`${base}/emails/bulk`, { method: 'POST', headers: authorized(path), body });
      const answer = (await response.json()) as { data?: { data?: unknown }[] };
      if (response.status !== 200 || !Array.isArray(answer.data)) throw new Error(`POST /emails/bulk answered ${response.status}: ${JSON.stringify(answer).slice(0, 500)}`);
      const refused = answer.data.filter((result) => !result.data);
      if (refused.length > 0) throw new Error(`POST /emails/bulk refused ${refused.length} messages, e.g. ${JSON.stringify(refused[0]).slice(0, 300)}`);
      accepted += answer.data.length;
    }
  };
  await Promise.all(Array.from({ length: BULK_PARALLEL }, send));
  return accepted;
}

interface DeliveryContext {
  sink: TlsSink;
  dnsAddress: string;
}

async function measureDelivery(kind: StoreKind, path: Path, round: number, options: Options, context: DeliveryContext): Promise<DeliveryOutcome> {
  const { sink } = context;
  const messages = options.messages[kind];
  const outcome: DeliveryOutcome = { phase: 'delivery', kind, path, round, messages, failures: [], problems: [] };
  console.log(`\n${STORE_LABELS[kind]}, delivery, ${path === 'hipaa' ? 'HIPAA account (verified TLS, shredded after delivery)' : 'standard account (opportunistic TLS)'}${options.rounds > 1 ? `, round ${round + 1}` : ''}`);
  let store: DeliveryStore | null = null;
  try {
    store = await prepareStore(kind);
    const scratch = store.scratch;
    const env = {
      MAILROOM_TRANSPORT: 'mx',
      MAILROOM_HELO_NAME: 'mailroom.bench.test',
      MAILROOM_WORKER_CONCURRENCY: String(options.concurrency),
      // Every MX host is the one sink at 127.0.0.1, and the engine pools connections per address
      // with this limit: it is the number of connections to the sink, as in `delivery`.
      MAILROOM_DESTINATION_CONCURRENCY: String(options.concurrency),
      MAILROOM_DNS_SERVERS: context.dnsAddress,
      MAILROOM_MX_DELIVERY_PORT: String(sink.port),
      MAILROOM_OUTBOUND_CA_FILE: sink.caFile,
    };

    process.stdout.write(`  queueing ${number(messages)} messages through POST /emails/bulk on the ${path === 'hipaa' ? 'HIPAA' : 'standard'} listener (api role only) ... `);
    const queueStarted = performance.now();
    const api = await startApi(store, env);
    let accepted: number;
    try {
      accepted = await queueMessages(api.urls[path], path, messages);
    } finally {
      outcome.problems.push(...(await stopMailroom(api, 'the api process')));
    }
    outcome.queueSeconds = (performance.now() - queueStarted) / 1000;
    console.log(`${number(accepted)} accepted in ${outcome.queueSeconds.toFixed(1)} s (start-up and stop included)`);
    const queued = await atRest(store);
    if (queued.queued !== messages) throw new Error(`${queued.queued} rows queued, expected ${messages}`);
    if (path === 'hipaa' && (queued.sealed !== messages || queued.keyed !== messages)) {
      throw new Error(`${queued.sealed} of ${messages} queued messages sealed, ${queued.keyed} with their data key`);
    }

    // Backends report their commits at the latest when they exit: the api process's are in.
    const commitsBefore = scratch ? await commitCount(scratch.name) : null;
    const baseline = sink.count();
    const tlsBaseline = sink.overTls();
    const sessionsBaseline = sink.sessions();
    const arrivals = sink.track(messages, STALL_MS);
    // Awaited below; handled here too, should the run fail before that (its stall timer rejects it later).
    arrivals.catch(() => undefined);
    const profileDir = runDirectory(options, kind, 'delivery', path, round);
    const cpuBefore = cpuSnapshot();
    const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
    const window: [number, number] = [monotonicUs(), Number.NaN];
    const started = performance.now();
    // Info level, for the shredder's reports (a handful of lines: nothing is logged per message).
    const child = startChild(`mailroom worker (${kind})`, process.execPath, [...profileFlags(profileDir), 'dist/cli/main.js', 'start', '--roles', 'worker'], {
      cwd: ROOT, env: childEnv({ ...mailroomEnv(store, env), MAILROOM_LOG_LEVEL: 'info' }),
    });
    const worker = { child, log: new LogWatch(child) };
    try {
      process.stdout.write(`  delivering with a worker-only process (mx, concurrency ${options.concurrency}) ... `);
      const died = child.exited.then((exit) => {
        throw new Error(`the worker exited (code ${exit.code}, signal ${exit.signal}) before it was done.\n${child.describeOutput()}`);
      });
      const { firstAt, doneAt } = await Promise.race([arrivals, died]);
      const cpuAfter = cpuSnapshot();
      window[1] = monotonicUs();
      const backends = scratch ? new Set(await backendPids(scratch.name)) : undefined;
      outcome.seconds = (doneAt - started) / 1000;
      outcome.steadySeconds = (doneAt - firstAt) / 1000;
      const split = cpuSplit(cpuBefore, cpuAfter, child.process.pid, backends);
      outcome.split = split;
      outcome.workerCpu = split ? split.server * split.seconds : null;
      outcome.postgresCpu = split && scratch ? split.postgres * split.seconds : null;
      const sinkSplit = cpuSplit(cpuBefore, cpuAfter, sink.pid);
      outcome.sinkCpu = sinkSplit ? sinkSplit.server * sinkSplit.seconds : null;
      console.log(`${outcome.seconds.toFixed(2)} s (${number(messages / outcome.seconds)}/s)`);
      console.log(`  ${formatSplit(split, 'worker')}${backends ? ` (postgres: the ${backends.size} backends of its database)` : ''}; the sink ${number(sinkSplit?.server, 2)}`);
      if (path === 'hipaa') {
        process.stdout.write('  waiting for the shredder ... ');
        const shreddedAt = await Promise.race([worker.log.shreddedAt(messages, SHRED_WAIT_MS), died]);
        outcome.shredLagSeconds = Math.max(0, (shreddedAt - doneAt) / 1000);
        console.log(`${number(worker.log.shredded)} shredded, the last ${outcome.shredLagSeconds.toFixed(2)} s after the last delivery`);
      }
      // A second more for copies the sink should not get (a delivery repeated after a lost result).
      await sleep(1000);
      outcome.extraAtSink = sink.count() - baseline - messages;
      outcome.overTls = sink.overTls() - tlsBaseline;
      outcome.connections = sink.sessions() - sessionsBaseline;
    } finally {
      outcome.problems.push(...(await stopMailroom(worker, 'the worker')));
    }
    outcome.commits = scratch && commitsBefore !== null ? (await commitCount(scratch.name)) - commitsBefore : null;
    const profile = profileDir ? mainThreadProfile(profileDir) : null;
    if (profile) outcome.profile = formatProfile(summarizeProfile(profile, ROOT, window, 25), ROOT, messages);

    const after = await atRest(store);
    outcome.after = after;
    const statuses = (await withStore(store, storeCounts)).statuses;
    const verify = (ok: boolean, line: string) => {
      console.log(`  ${line}: ${ok ? 'OK' : 'MISMATCH'}`);
      if (!ok) outcome.failures.push(line);
    };
    verify(after.delivered === messages && after.queued === 0,
      `${number(after.delivered)} of ${number(messages)} DELIVERED, ${number(after.queued)} still queued (${JSON.stringify(statuses)})`);
    verify(outcome.extraAtSink === 0 && outcome.overTls === messages,
      `the sink: ${number(outcome.overTls)} of ${number(messages)} received inside TLS over ${number(outcome.connections)} connections, ${number(outcome.extraAtSink)} extra`);
    if (path === 'hipaa') {
      verify(after.keys === 0 && after.shredded === messages && after.sealed === 0,
        `shredded: ${number(after.shredded)} messages' content 'shredded', ${number(after.sealed)} still sealed, ${number(after.keys)} data keys left`);
    }
  } catch (error) {
    console.error(`  failed: ${(error as Error).message}`);
    outcome.failures.push(`failed: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    await store?.remove();
  }
  return outcome;
}

const deliveryRate = (outcome: DeliveryOutcome | undefined) => (outcome?.seconds ? outcome.messages / outcome.seconds : undefined);

function deliveryTable(outcomes: DeliveryOutcome[], rounds: number): string {
  const postgres = outcomes.some((outcome) => outcome.kind === 'postgres');
  const per1000 = (seconds: number | null | undefined, outcome: DeliveryOutcome) => (seconds === null || seconds === undefined ? undefined : (seconds * 1000) / outcome.messages);
  const header = [
    ...(rounds > 1 ? ['round'] : []), 'account', 'messages', 'queued in s', 'seconds', 'messages/s', 'ratio to standard', 'first→last msg/s',
    'worker CPU s per 1,000', ...(postgres ? ['PostgreSQL CPU s per 1,000', 'commits/msg'] : []), 'sink CPU s per 1,000', 'all delivered over TLS', 'shredded',
  ];
  const rows = outcomes.map((outcome) => {
    const standard = outcomes.find((other) => other.round === outcome.round && other.path === 'standard');
    const verified = outcome.after && outcome.failures.length === 0;
    return [
      ...(rounds > 1 ? [String(outcome.round + 1)] : []),
      outcome.path === 'hipaa' ? 'HIPAA (verified TLS)' : 'standard (opportunistic TLS)',
      number(outcome.messages),
      number(outcome.queueSeconds, 1),
      number(outcome.seconds, 2),
      outcome.seconds ? number(deliveryRate(outcome)) : 'failed',
      number(ratioOf(deliveryRate(outcome), deliveryRate(standard)), 2),
      outcome.steadySeconds ? number((outcome.messages - 1) / outcome.steadySeconds) : '-',
      number(per1000(outcome.workerCpu, outcome), 2),
      ...(postgres ? [number(per1000(outcome.postgresCpu, outcome), 2), outcome.commits ? (outcome.commits / outcome.messages).toFixed(2) : '-'] : []),
      number(per1000(outcome.sinkCpu, outcome), 2),
      outcome.after ? `${verified ? 'yes' : 'NO'} (${number(outcome.after.delivered)}, ${number(outcome.overTls)} over TLS)` : '-',
      outcome.path === 'standard' ? 'n/a' : outcome.after ? `${number(outcome.after.shredded)}, ${number(outcome.after.keys)} keys left (+${number(outcome.shredLagSeconds, 2)} s)` : '-',
    ];
  });
  return markdownTable(header, rows, rounds > 1 ? 2 : 1);
}

// ---- the run ----

interface Verdict {
  phase: Phase;
  kind: StoreKind;
  ratios: number[];
  rates: { standard: number; hipaa: number }[];
}

function verdictLine({ phase, kind, ratios, rates }: Verdict, rounds: number): string {
  const ratio = median(ratios);
  if (ratio === undefined) return `  -     ${phase} on ${STORE_LABELS[kind]}: not measured`;
  const unit = phase === 'ingest' ? 'accepted/s' : 'delivered/s';
  const detail = rounds > 1
    ? `median of ${ratios.length} rounds: ${ratios.map((value) => value.toFixed(2)).join(', ')}`
    : `${number(rates[0]!.hipaa)} against ${number(rates[0]!.standard)} ${unit}`;
  return `  ${ratio >= TARGET_RATIO ? 'PASS' : 'MISS'}  ${phase} on ${STORE_LABELS[kind]}: HIPAA ${ratio.toFixed(2)} of standard (${detail}); target at least ${TARGET_RATIO}`;
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const { command, started } = printPreamble('hipaa', args);
  if (options.targets.includes('postgres')) console.log(await describeBenchServer('--targets=pglite'));
  if (options.phases.includes('ingest')) {
    console.log(
      `ingest: autocannon, ${options.connections} connections, pipelining 1, ${options.warmupSeconds} s warm-up + ${options.seconds} s measured per run; ` +
        `the seed request (${seedBody('standard').length} bytes) from each account's verified domain; api role, sandbox transport, MAILROOM_REQUIRE_VERIFIED_SENDER=on. ` +
        'The HIPAA listener serves plain HTTP on loopback (MAILROOM_HIPAA_HTTP_PLAIN=1): the ratio measures encryption at rest and the audit log, not TLS.',
    );
  }
  if (options.phases.includes('delivery')) {
    console.log(
      `delivery: ${options.targets.map((kind) => `${number(options.messages[kind])} messages per run on ${STORE_LABELS[kind]}`).join(', ')}, one recipient each over ${RECIPIENT_DOMAINS} domains, DKIM RSA-2048, mx transport, concurrency ${options.concurrency}, ` +
        'to one STARTTLS sink (smtp-server) on loopback whose certificate a bench CA signs (MAILROOM_OUTBOUND_CA_FILE); standard: opportunistic TLS, HIPAA: verified TLS, then shredded.',
    );
  }
  console.log(`rounds: ${options.rounds} (each a standard and a HIPAA run per phase and database; the order swaps every round)`);
  if (options.build) buildDist();

  const scratch = mkdtempSync(join(tmpdir(), 'mailroom-bench-hipaa-'));
  const removeScratch = onCleanup(() => rmSync(scratch, { recursive: true, force: true }));
  let context: (DeliveryContext & { close(): Promise<void> }) | null = null;
  if (options.phases.includes('delivery')) {
    const dns = await startDnsServer(zone());
    const closeDns = onCleanup(() => dns.close());
    const sink = await startTlsSink({ dir: scratch, hostnames: ['*.bench.test'], maxConnections: Math.max(1000, options.concurrency * 4) });
    console.log(`TLS sink on 127.0.0.1:${sink.port} (certificate for *.bench.test), DNS server on ${dns.address}`);
    context = {
      sink,
      dnsAddress: dns.address,
      close: async () => {
        await sink.stop();
        await closeDns();
      },
    };
  }

  const ingest: IngestOutcome[] = [];
  const delivery: DeliveryOutcome[] = [];
  for (const kind of options.targets) {
    for (let round = 0; round < options.rounds; round++) {
      if (options.phases.includes('ingest')) for (const path of ROUND_ORDER[round % 2]!) ingest.push(await measureIngest(kind, path, round, options));
    }
    for (let round = 0; round < options.rounds; round++) {
      if (context) for (const path of ROUND_ORDER[round % 2]!) delivery.push(await measureDelivery(kind, path, round, options, context));
    }
  }
  await context?.close();
  await removeScratch();

  const day = started.toISOString().slice(0, 10);
  const byRound = <T extends { round: number; path: Path }>(outcomes: T[]) => [...outcomes].sort((a, b) => a.round - b.round || (a.path === 'standard' ? -1 : 1) - (b.path === 'standard' ? -1 : 1));
  for (const kind of options.targets) {
    const ingestRuns = byRound(ingest.filter((outcome) => outcome.kind === kind));
    if (ingestRuns.length > 0) {
      console.log(`\nIngest, Mailroom on ${STORE_LABELS[kind]} (${options.seconds} s per run, ${day}; ${command})\n`);
      console.log(ingestTable(ingestRuns, options.rounds));
    }
    const deliveryRuns = byRound(delivery.filter((outcome) => outcome.kind === kind));
    if (deliveryRuns.length > 0) {
      console.log(`\nDelivery, Mailroom on ${STORE_LABELS[kind]} (${number(options.messages[kind])} messages per run, ${day}; ${command})\n`);
      console.log(deliveryTable(deliveryRuns, options.rounds));
    }
  }
  console.log(
    '\ningest: messages/s counts 2xx answers in the measured window; latencies are those of 2xx answers; server CPU µs/msg = CPU time of\n' +
      'the Mailroom process per message acknowledged during the measured run; PostgreSQL CPU: the backends of the run\'s database;\n' +
      'at rest: rows sealed, message_keys rows and audit_log entries after the run.\n' +
      'delivery: messages/s = messages / seconds from the worker\'s spawn until the sink counted the last; first→last = the rate between\n' +
      'the first and the last message at the sink; CPU s per 1,000 over that time; shredded: messages whose content is \'shredded\' after\n' +
      'the run, data keys left, and how long after the last delivery the shredder reported the last one.\n' +
      'ratio to standard = the HIPAA run\'s rate over the standard run\'s of the same round.',
  );

  const all: (IngestOutcome | DeliveryOutcome)[] = [...ingest, ...delivery];
  const notes = all.flatMap((outcome) => [...new Set([...outcome.problems, ...outcome.failures])]
    .map((line) => `  ${STORE_LABELS[outcome.kind]} ${outcome.phase} ${outcome.path}${options.rounds > 1 ? ` (round ${outcome.round + 1})` : ''}: ${line}`));
  if (notes.length > 0) console.log(`\nnotes:\n${notes.join('\n')}`);
  for (const outcome of all) {
    if (outcome.profile) console.log(`\n${STORE_LABELS[outcome.kind]} ${outcome.phase} ${outcome.path}${options.rounds > 1 ? ` (round ${outcome.round + 1})` : ''}: ${outcome.profile}`);
  }
  if (options.profileRoot) console.log(`\nprofiles kept in ${relative(ROOT, options.profileRoot)}/ (open them in Chrome DevTools or speedscope); profiled rates are not to be quoted`);

  const verdicts: Verdict[] = [];
  for (const kind of options.targets) {
    for (const phase of options.phases) {
      const verdict: Verdict = { phase, kind, ratios: [], rates: [] };
      for (let round = 0; round < options.rounds; round++) {
        const rate = (path: Path) => phase === 'ingest'
          ? ingest.find((outcome) => outcome.kind === kind && outcome.round === round && outcome.path === path)?.measured?.result.okPerSecond
          : deliveryRate(delivery.find((outcome) => outcome.kind === kind && outcome.round === round && outcome.path === path));
        const standard = rate('standard');
        const hipaa = rate('hipaa');
        if (standard === undefined || hipaa === undefined) continue;
        verdict.ratios.push(hipaa / standard);
        verdict.rates.push({ standard, hipaa });
      }
      verdicts.push(verdict);
    }
  }
  console.log(`\ntargets (HIPAA at least ${TARGET_RATIO} of the standard path's rate):`);
  for (const verdict of verdicts) console.log(verdictLine(verdict, options.rounds));

  const failed = all.filter((outcome) => outcome.failures.length > 0);
  if (failed.length > 0) {
    console.error(`\nFAILED: ${failed.length} run(s) did not verify or did not finish (see the notes)`);
    return 1;
  }
  return 0;
}
