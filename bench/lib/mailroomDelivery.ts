import { mkdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSnapshot, cpuSplit, type CpuSplit } from './cpu.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './cpuProfile.js';
import { composedSample, storeCounts, type DeliveryStore, type StoreCounts } from './deliveryStore.js';
import { commitCount } from './postgres.js';
import { freePort, startChild, waitForOk, type Child } from './processes.js';
import type { CountingSink } from './smtpSink.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One Mailroom delivery run, in two real processes (`node dist/cli/main.js start`): first one
 * with only the `api` role, into which the messages are queued through POST /emails/bulk while
 * no worker runs; then, once it has stopped, one with only the `worker` role, timed from its
 * spawn until smtp-sink has received every message. Afterwards the worker is stopped (SIGTERM)
 * and the store must hold every message DELIVERED and an empty queue.
 */
export interface MailroomRunOptions {
  root: string;
  store: DeliveryStore;
  apiKey: string;
  messages: number;
  /** Builds request `n` of the load. */
  request(n: number): Record<string, unknown>;
  transport: 'mx' | 'relay';
  /** MAILROOM_WORKER_CONCURRENCY, MAILROOM_DESTINATION_CONCURRENCY, MAILROOM_RELAY_MAX_CONNECTIONS. */
  concurrency: number;
  signingThreads: number | null;
  sink: CountingSink;
  dnsAddress: string;
  profileDir: string | null;
}

export interface MailroomRun {
  accepted: number;
  ingestSeconds: number;
  /** Spawn of the worker to the last message at the sink. */
  seconds: number;
  /** Spawn to the first message at the sink (process start, database open, first claim). */
  startupSeconds: number;
  /** First to last message at the sink. */
  steadySeconds: number;
  workerCpuSeconds: number | null;
  split: CpuSplit | null;
  /** PostgreSQL transactions committed in the store from the worker's spawn to its exit (PGlite: null). */
  commits: number | null;
  /** Messages the sink received beyond those queued (duplicates), a second after the last. */
  extraAtSink: number;
  after: StoreCounts;
  /** The status every message must end in: DELIVERED by mx, SENT (handed to the smarthost) by relay. */
  finalStatus: 'DELIVERED' | 'SENT';
  /** Messages in that status after the run. */
  done: number;
  sample: Buffer;
  problems: string[];
  profile?: string;
}

const BATCH = 1000;
const PARALLEL_BATCHES = 4;

/** Mailroom's children get no MAILROOM_* setting from the caller's environment, only the bench's. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MAILROOM_')) env[name] = value;
  return { ...env, ...extra };
}

function baseEnv(options: MailroomRunOptions): Record<string, string> {
  const { store, sink } = options;
  const env: Record<string, string> = {
    MAILROOM_HOST: '127.0.0.1',
    MAILROOM_DATA_DIR: store.dataDir,
    MAILROOM_BOOTSTRAP_API_KEY: options.apiKey,
    MAILROOM_LOG_LEVEL: 'warn',
    MAILROOM_TRANSPORT: options.transport,
    MAILROOM_HELO_NAME: 'mailroom.bench.test',
    MAILROOM_WORKER_CONCURRENCY: String(options.concurrency),
    // Every MX host of the bench is 127.0.0.1, and the SMTP engine pools connections per address
    // with this limit: it is the number of connections to the sink, as Postfix's limit is.
    MAILROOM_DESTINATION_CONCURRENCY: String(options.concurrency),
    MAILROOM_DNS_SERVERS: options.dnsAddress,
    MAILROOM_MX_DELIVERY_PORT: String(sink.port),
    MAILROOM_RELAY_URL: `smtp://127.0.0.1:${sink.port}`,
    MAILROOM_RELAY_MAX_CONNECTIONS: String(Math.min(500, options.concurrency)),
  };
  if (store.databaseUrl) env.MAILROOM_DATABASE_URL = store.databaseUrl;
  if (options.signingThreads !== null) env.UV_THREADPOOL_SIZE = String(options.signingThreads);
  return env;
}

async function ingest(options: MailroomRunOptions, problems: string[]): Promise<{ accepted: number; seconds: number }> {
  const port = await freePort();
  const api = startChild('mailroom api', process.execPath, ['dist/cli/main.js', 'start', '--roles', 'api'], {
    cwd: options.root,
    env: childEnv({ ...baseEnv(options), MAILROOM_HTTP_PORT: String(port) }),
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForOk(`${base}/readyz`, api, 180_000);
    const started = performance.now();
    let accepted = 0;
    let next = 0;
    const send = async () => {
      while (next < options.messages) {
        const first = next;
        next = Math.min(options.messages, next + BATCH);
        const messages = Array.from({ length: next - first }, (_, index) => options.request(first + index));
        const response = await fetch(`${base}/emails/bulk`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ messages }),
        });
        const body = (await response.json()) as { data?: { data?: unknown; error?: { message: string } }[] };
        if (response.status !== 200 || !Array.isArray(body.data)) throw new Error(`POST /emails/bulk answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
        const refused = body.data.filter((result) => !result.data);
        if (refused.length > 0) throw new Error(`POST /emails/bulk refused ${refused.length} messages, e.g. ${JSON.stringify(refused[0]).slice(0, 300)}`);
        accepted += body.data.length;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_BATCHES }, send));
    const seconds = (performance.now() - started) / 1000;
    const exit = await api.stop('SIGTERM');
    if (exit.code !== 0) problems.push(`the api process exited with code ${exit.code} (signal ${exit.signal})`);
    return { accepted, seconds };
  } finally {
    await api.stop();
  }
}

export async function runMailroom(options: MailroomRunOptions): Promise<MailroomRun> {
  const problems: string[] = [];
  process.stdout.write(`  queueing ${options.messages.toLocaleString('en-US')} messages through POST /emails/bulk (api role only) ... `);
  const queued = await ingest(options, problems);
  console.log(`${queued.accepted.toLocaleString('en-US')} accepted in ${queued.seconds.toFixed(1)} s`);

  let sample: Buffer;
  {
    const db = await options.store.open();
    try {
      const before = await storeCounts(db);
      if (before.queued !== options.messages) throw new Error(`${before.queued} rows queued, expected ${options.messages}`);
      sample = await composedSample(db, options.store.sealer);
    } finally {
      await db.close();
    }
  }

  const profileArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  if (options.profileDir) mkdirSync(options.profileDir, { recursive: true });
  // Backends report their commits at the latest when they exit: the api process's are in.
  const commitsBefore = options.store.scratch ? await commitCount(options.store.scratch.name) : null;
  const arrivals = options.sink.track(options.messages, 60_000);
  const baseline = options.sink.count();
  const cpuBefore = cpuSnapshot();
  const monotonicStart = Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  const worker: Child = startChild('mailroom worker', process.execPath, [...profileArgs, 'dist/cli/main.js', 'start', '--roles', 'worker'], {
    cwd: options.root,
    env: childEnv(baseEnv(options)),
  });
  process.stdout.write(`  delivering with a worker-only process (${options.transport}, concurrency ${options.concurrency}) ... `);
  const died = worker.exited.then((exit) => {
    throw new Error(`the worker exited (code ${exit.code}, signal ${exit.signal}) before delivering everything.\n${worker.describeOutput()}`);
  });
  const { firstAt, doneAt } = await Promise.race([arrivals, died]);
  const cpuAfter = cpuSnapshot();
  const monotonicEnd = Number(process.hrtime.bigint() / 1000n);
  const split = cpuSplit(cpuBefore, cpuAfter, worker.process.pid);
  const workerCpuSeconds = split ? split.server * split.seconds : null;
  const seconds = (doneAt - started) / 1000;
  console.log(`${seconds.toFixed(2)} s`);

  await sleep(1000);
  const extraAtSink = options.sink.count() - baseline - options.messages;
  const exit = await worker.stop('SIGTERM');
  if (exit.code !== 0) problems.push(`the worker exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
  const logged = worker.output();
  if (logged.lines > 0) problems.push(`the worker logged ${logged.lines} line(s) at warn or above; the last: ${logged.tail.slice(-3).join(' | ')}`);

  const commits = options.store.scratch && commitsBefore !== null ? (await commitCount(options.store.scratch.name)) - commitsBefore : null;
  const db = await options.store.open();
  let after: StoreCounts;
  try {
    after = await storeCounts(db);
  } finally {
    await db.close();
  }
  const finalStatus = options.transport === 'mx' ? 'DELIVERED' : 'SENT';
  const done = after.statuses[finalStatus] ?? 0;
  if (after.queued !== 0 || done !== options.messages) {
    problems.push(`after the run: ${done} ${finalStatus} of ${options.messages}, ${after.queued} still queued (${JSON.stringify(after.statuses)})`);
  }
  if (extraAtSink !== 0) problems.push(`smtp-sink received ${extraAtSink} messages more than were queued (duplicates)`);

  let profile: string | undefined;
  if (options.profileDir) profile = profileReport(options.root, options.profileDir, [monotonicStart, monotonicEnd], options.messages);
  return {
    accepted: queued.accepted,
    ingestSeconds: queued.seconds,
    seconds,
    startupSeconds: (firstAt - started) / 1000,
    steadySeconds: (doneAt - firstAt) / 1000,
    workerCpuSeconds,
    split,
    commits,
    extraAtSink,
    after,
    finalStatus,
    done,
    sample,
    problems,
    profile,
  };
}

/** The worker's main thread, then each of its other threads (the composing/signing threads). */
function profileReport(root: string, dir: string, window: [number, number], messages: number): string {
  const main = mainThreadProfile(dir);
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(dir, name));
  const ordered = [...(main ? [main] : []), ...files.filter((file) => file !== main).sort()];
  if (ordered.length === 0) return `no .cpuprofile written in ${dir}`;
  return ordered.map((file, index) => `${index === 0 ? 'main thread' : `thread ${index}`}: ${formatProfile(summarizeProfile(file, root, window, 15), root, messages)}`).join('\n\n');
}
