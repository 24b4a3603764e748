/**
 * webhooks: how fast Mailroom's dispatcher empties its outbox to a local receiver, and how long
 * an event takes from the event log to the receiver.
 *
 * 1. Preload: a Mailroom process with only the api role (no dispatcher) stores N messages
 *    scheduled 29 days ahead through POST /emails/bulk: N SCHEDULED events, each fanned out to
 *    the account's webhooks (--webhooks, default one, subscribed to SCHEDULED), N deliveries in all.
 * 2. Throughput: that process stops and one with the api and worker roles starts; the time from
 *    the receiver's first request to its N-th is the dispatch rate (start-up excluded; from the
 *    spawn is printed too).
 * 3. Lag: with the dispatcher running, bulk requests add events at a steady rate (--lag-rate
 *    deliveries per second for --lag-seconds); for each, receipt time minus the event's timestamp.
 * The reference, in the same run and to the same receiver: a bare Node HTTP client that signs
 * and POSTs the same number of events one after the other on a kept-alive connection: the
 * ceiling of one endpoint whose events arrive in order. The receiver verifies every signature
 * with the `standardwebhooks` package and counts duplicates and events out of order.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { signatureHeaders } from '../src/webhooks/signing.js';
import { UNORDERED_PIPELINE_DEPTH } from '../src/webhooks/sender.js';
import { invocation, parseBenchOptions, positiveInteger, UsageError } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { cpuSnapshot, cpuSplit, formatSplit } from './lib/cpu.js';
import { createScratchDatabase } from './lib/postgres.js';
import { buildDist, machineLine, ROOT } from './lib/preamble.js';
import { freePort, startChild, waitForOk, type Child } from './lib/processes.js';

export const description = 'events/s from the outbox to a local receiver (signed, in order) and event-to-receipt lag, against a bare signing HTTP client';

const API_KEY = 'mr_bench_webhooks_0123456789abcdef012345';
const TARGET_RATE = 5_000;

const USAGE = `npm run bench -- webhooks [--events=N] [--webhooks=N] [--unordered] [--database=pglite|postgres|both] [--lag-rate=N] [--lag-seconds=N] [--no-build]

  --events       deliveries to make in the throughput part (default 100000)
  --webhooks     webhooks (endpoints, each its own ordered lane) sharing them (default 1)
  --unordered    webhooks created with ordered: false (requests pipelined, 8 deep); the reference
                 then pipelines as deep
  --database     Mailroom's store (default both: PGlite, then PostgreSQL)
  --lag-rate     deliveries per second (events times webhooks) while measuring the lag (default 1000)
  --lag-seconds  how long (default 10)
  --no-build     use dist/ as it is`;

interface SinkStats {
  received: number;
  badSignatures: number;
  duplicates: number;
  outOfOrder: number;
  firstAt: number;
  lastAt: number;
  lag: { count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
}

interface Sink {
  port: number;
  stats(): Promise<SinkStats>;
  reset(secret: string): Promise<void>;
}

async function startSink(): Promise<Sink> {
  const port = await freePort();
  const child = startChild('webhook sink', process.execPath, ['--import', 'tsx', 'bench/lib/webhookSink.ts', String(port)], { cwd: ROOT, env: process.env });
  onCleanup(() => child.stop().then(() => undefined));
  for (let i = 0; i < 100 && !child.output().tail.some((line) => line.includes('webhook sink on')); i++) await sleep(100);
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    stats: async () => (await (await fetch(`${base}/stats`)).json()) as SinkStats,
    reset: async (secret) => void (await fetch(`${base}/secret`, { method: 'POST', body: secret })),
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

/**
 * The bare reference: sign and POST `count` events on one kept-alive connection, one after the
 * other (node:http), or with `depth` requests pipelined (undici, as the unordered lanes are sent).
 */
async function reference(sink: Sink, count: number, depth: number): Promise<{ seconds: number }> {
  const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
  await sink.reset(secret);
  if (depth > 1) return pipelinedReference(sink, count, depth, secret);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = (id: number) => {
    const body = JSON.stringify({
      id, type: 'SCHEDULED', messageId: '01m8t54r258a0b7w1nmcth', externalId: null, clientId: null, alias: null, campaignId: null, tags: [],
      to: 'reader@bench.test', from: 'app@bench.test', timestamp: new Date().toISOString(), details: {},
    });
    const headers = signatureHeaders(`evt_${id}`, Math.floor(Date.now() / 1000), body, [secret]);
    return new Promise<void>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port: sink.port, path: '/ref', method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 204 ? resolve() : reject(new Error(`sink answered ${response.statusCode}`))));
      });
      request.on('error', reject);
      request.end(body);
    });
  };
  const started = performance.now();
  for (let id = 1; id <= count; id++) await post(id);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const stats = await sink.stats();
  if (stats.received !== count || stats.badSignatures > 0) throw new Error(`reference: the sink got ${stats.received} of ${count}, ${stats.badSignatures} bad signatures`);
  return { seconds };
}

async function pipelinedReference(sink: Sink, count: number, depth: number, secret: string): Promise<{ seconds: number }> {
  const client = new Client(`http://127.0.0.1:${sink.port}`, { pipelining: depth });
  let next = 1;
  const lane = async () => {
    while (next <= count) {
      const id = next++;
      const body = JSON.stringify({
        id, type: 'SCHEDULED', messageId: '01m8t54r258a0b7w1nmcth', externalId: null, clientId: null, alias: null, campaignId: null, tags: [],
        to: 'reader@bench.test', from: 'app@bench.test', timestamp: new Date().toISOString(), details: {},
      });
      const headers = signatureHeaders(`evt_${id}`, Math.floor(Date.now() / 1000), body, [secret]);
      const response = await client.request({ path: '/ref', method: 'POST', body, idempotent: true, blocking: false, headers: { ...headers, 'content-type': 'application/json' } });
      await response.body.dump();
      if (response.statusCode !== 204) throw new Error(`sink answered ${response.statusCode}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: depth }, lane));
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  const stats = await sink.stats();
  if (stats.received !== count || stats.badSignatures > 0) throw new Error(`reference: the sink got ${stats.received} of ${count}, ${stats.badSignatures} bad signatures`);
  return { seconds };
}

interface MailroomResult {
  kind: 'pglite' | 'postgres';
  preloadSeconds: number;
  dispatchSeconds: number;
  fromSpawnSeconds: number;
  stats: SinkStats;
  lag: SinkStats['lag'];
  lagEvents: number;
  cpu: string;
}

async function api<T>(base: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { data: T }).data;
}

/** Messages scheduled 29 days ahead (the furthest allowed is 30): each makes one SCHEDULED event and is never sent here. */
function scheduled(count: number, offset: number) {
  const sendAt = new Date(Date.now() + 29 * 24 * 3600_000).toISOString();
  return Array.from({ length: count }, (_, index) => ({
    to: `reader${offset + index}@bench.test`, from: 'app@bench.test', subject: 'webhooks benchmark', text: 'hello', sendAt,
  }));
}

async function bulk(base: string, messages: ReturnType<typeof scheduled>): Promise<void> {
  const response = await fetch(`${base}/emails/bulk`, {
    method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages }),
  });
  const body = (await response.json()) as { data?: { error?: { message: string } }[] };
  const refused = body.data?.find((result) => result.error);
  if (!response.ok || !body.data || refused) throw new Error(`POST /emails/bulk: ${response.status} ${refused?.error?.message ?? JSON.stringify(body).slice(0, 300)}`);
}

async function runMailroom(kind: 'pglite' | 'postgres', sink: Sink, options: { events: number; webhooks: number; unordered: boolean; lagRate: number; lagSeconds: number }): Promise<MailroomResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailroom-bench-webhooks-'));
  const removeDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const database = kind === 'postgres' ? await createScratchDatabase() : null;
  const httpPort = await freePort();
  const env = (roles: string): NodeJS.ProcessEnv => {
    const base: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MAILROOM_')) base[name] = value;
    return {
      ...base, MAILROOM_ROLES: roles, MAILROOM_HTTP_PORT: String(httpPort), MAILROOM_DATA_DIR: dataDir, MAILROOM_BOOTSTRAP_API_KEY: API_KEY,
      MAILROOM_LOG_LEVEL: 'warn', MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1', MAILROOM_TRANSPORT: 'sandbox', ...(database ? { MAILROOM_DATABASE_URL: database.url } : {}),
    };
  };
  const base = `http://127.0.0.1:${httpPort}`;
  let child: Child | null = null;
  try {
    child = startChild(`mailroom api (${kind})`, process.execPath, ['dist/cli/main.js', 'start'], { cwd: ROOT, env: env('api') });
    await waitForOk(`${base}/readyz`, child, 180_000);
    const perWebhook = Math.ceil(options.events / options.webhooks);
    const secrets: Record<string, string> = {};
    for (let index = 0; index < options.webhooks; index++) {
      secrets[`/hook${index}`] = (await api<{ secret: string }>(base, '/webhooks', { url: `http://127.0.0.1:${sink.port}/hook${index}`, eventTypes: ['SCHEDULED'], ordered: !options.unordered })).secret;
    }
    process.stdout.write(`  preload: ${perWebhook.toLocaleString('en-US')} scheduled messages, ${options.webhooks} webhook(s) ... `);
    const preloadStart = performance.now();
    for (let sent = 0; sent < perWebhook; sent += 500) {
      await bulk(base, scheduled(Math.min(500, perWebhook - sent), sent));
    }
    const preloadSeconds = (performance.now() - preloadStart) / 1000;
    console.log(`${preloadSeconds.toFixed(1)} s`);
    await child.stop();

    await sink.reset(JSON.stringify(secrets));
    const spawned = Date.now();
    child = startChild(`mailroom api,worker (${kind})`, process.execPath, ['dist/cli/main.js', 'start'], { cwd: ROOT, env: env('api,worker') });
    const pid = child.process.pid;
    const cpuBefore = cpuSnapshot();
    const total = perWebhook * options.webhooks;
    process.stdout.write(`  dispatch: ${total.toLocaleString('en-US')} deliveries ... `);
    await waitFor(async () => (await sink.stats().catch(() => null))?.received === total, 600_000, `${total} deliveries at the sink`);
    const cpuAfter = cpuSnapshot();
    const stats = await sink.stats();
    const dispatchSeconds = (stats.lastAt - stats.firstAt) / 1000;
    console.log(`${dispatchSeconds.toFixed(2)} s, ${Math.round((total - 1) / dispatchSeconds).toLocaleString('en-US')}/s`);
    await waitForOk(`${base}/readyz`, child, 60_000);

    process.stdout.write(`  lag: ${options.lagRate}/s for ${options.lagSeconds} s ... `);
    await sink.reset(JSON.stringify(secrets));
    // --lag-rate counts deliveries: with several webhooks, each event makes one per webhook.
    const perTick = Math.max(1, Math.round(options.lagRate / 20 / options.webhooks));
    const ticks = options.lagSeconds * 20;
    const lagStart = performance.now();
    for (let tick = 0; tick < ticks; tick++) {
      await bulk(base, scheduled(perTick, tick * perTick));
      const wait = lagStart + (tick + 1) * 50 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const lagEvents = perTick * ticks * options.webhooks;
    await waitFor(async () => (await sink.stats()).received >= lagEvents, 120_000, 'the lag events');
    const lag = (await sink.stats()).lag;
    console.log(`p50 ${lag.p50} ms, p99 ${lag.p99} ms`);
    return {
      kind, preloadSeconds, dispatchSeconds, fromSpawnSeconds: (stats.lastAt - spawned) / 1000, stats, lag, lagEvents,
      cpu: formatSplit(cpuSplit(cpuBefore, cpuAfter, pid), 'mailroom'),
    };
  } finally {
    await child?.stop();
    await database?.drop();
    await removeDir();
  }
}

export async function run(args: string[]): Promise<number> {
  const values = parseBenchOptions(args, {
    events: { type: 'string' }, webhooks: { type: 'string' }, database: { type: 'string' },
    'lag-rate': { type: 'string' }, 'lag-seconds': { type: 'string' }, 'no-build': { type: 'boolean' }, unordered: { type: 'boolean' },
  }, USAGE);
  if (!values) return 0;
  const events = positiveInteger('events', values.events, 100_000);
  const webhooks = positiveInteger('webhooks', values.webhooks, 1, 64);
  const unordered = values.unordered ?? false;
  const depth = unordered ? UNORDERED_PIPELINE_DEPTH : 1;
  const lagRate = positiveInteger('lag-rate', values['lag-rate'], 1_000);
  const lagSeconds = positiveInteger('lag-seconds', values['lag-seconds'], 10, 600);
  const database = values.database ?? 'both';
  if (!['pglite', 'postgres', 'both'].includes(database)) throw new UsageError(`--database must be pglite, postgres or both\n\n${USAGE}`);
  const kinds = database === 'both' ? (['pglite', 'postgres'] as const) : [database as 'pglite' | 'postgres'];
  console.log(machineLine());
  if (!values['no-build']) buildDist();

  const sink = await startSink();
  process.stdout.write(`reference: a bare signing client, ${events.toLocaleString('en-US')} requests ${depth > 1 ? `pipelined ${depth} deep` : 'in order'} ... `);
  const ref = await reference(sink, events, depth);
  const refRate = events / ref.seconds;
  console.log(`${ref.seconds.toFixed(2)} s, ${Math.round(refRate).toLocaleString('en-US')}/s`);

  const results: MailroomResult[] = [];
  for (const kind of kinds) {
    console.log(`\nMailroom, ${kind === 'pglite' ? 'PGlite' : 'PostgreSQL'}`);
    results.push(await runMailroom(kind, sink, { events, webhooks, unordered, lagRate, lagSeconds }));
  }

  console.log(`\nResults (${new Date().toISOString().slice(0, 10)}; ${invocation(['webhooks', ...args])})\n`);
  console.log('| target | deliveries | seconds | events/s | ratio to reference | from spawn, events/s | lag p50 ms | lag p99 ms | bad signatures | duplicates | out of order |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(`| bare signing client, one connection${depth > 1 ? `, pipelined ${depth} deep` : ''} (reference) | ${events} | ${ref.seconds.toFixed(2)} | ${Math.round(refRate)} | 1.00 | - | - | - | 0 | 0 | 0 |`);
  let failed = false;
  for (const result of results) {
    const total = result.stats.received;
    const rate = (total - 1) / result.dispatchSeconds;
    console.log(
      `| Mailroom, ${result.kind === 'pglite' ? 'PGlite' : 'PostgreSQL'}, ${webhooks} webhook(s) | ${total} | ${result.dispatchSeconds.toFixed(2)} | ${Math.round(rate)} | ${(rate / refRate).toFixed(2)} | ` +
      `${Math.round(total / result.fromSpawnSeconds)} | ${result.lag.p50} | ${result.lag.p99} | ${result.stats.badSignatures} | ${result.stats.duplicates} | ${result.stats.outOfOrder} |`,
    );
    // Unordered webhooks may deliver out of order by design; ordered ones never.
    if (result.stats.badSignatures > 0 || (!unordered && result.stats.outOfOrder > 0)) failed = true;
  }
  console.log('');
  for (const result of results) console.log(`  ${result.kind}: ${result.cpu}; preload ${result.preloadSeconds.toFixed(1)} s; lag measured on ${result.lagEvents} events`);
  console.log('\ntargets:');
  for (const result of results) {
    const rate = (result.stats.received - 1) / result.dispatchSeconds;
    console.log(`  ${rate >= TARGET_RATE ? 'met    ' : 'NOT met'}  at least ${TARGET_RATE.toLocaleString('en-US')} events/s with signing: ${Math.round(rate).toLocaleString('en-US')}/s (${result.kind})`);
  }
  return failed ? 1 : 0;
}
