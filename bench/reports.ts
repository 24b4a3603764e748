/**
 * reports: how fast reports answer over a year of events, and how fast the report consumer
 * keeps up. On a fresh PostgreSQL database: 10 million events over 1,000 campaigns, 100 tags and
 * 365 days are generated straight into messages and message_events (bench/lib/reportData.ts; the
 * backlog trigger fills report_backlog as it would in production), then the consumer's own fold
 * (src/reports/consumer.ts) counts the whole backlog, timed. Then, against `mailroom start --roles
 * api` on that database, sequential requests (one connection, keep-alive) measure p50/p99 of: a
 * campaign report, a 90-day daily series (the account's and a tag's), groupBy=domain (all time
 * and 30 days) and groupBy=campaign over 30 days; and the per-recipient CSV export of the
 * 100,000-recipient campaign (rows/s) beside `psql \copy` of the same rows in the same run.
 *
 * Checks that the numbers are right, not only fast: the account's totals from the rollups must
 * equal a count of the event log by type.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open.js';
import { defaultConsumerOptions, foldBacklog } from '../src/reports/consumer.js';
import { invocation, parseBenchOptions, positiveInteger, UsageError } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { MailroomApi } from './lib/mailroomApi.js';
import { describeBenchServer } from './lib/postgres.js';
import { buildDist, printPreamble } from './lib/preamble.js';
import { campaignId, campaignSizeFor, CAMPAIGNS, generateLog, type GeneratedLog } from './lib/reportData.js';
import { number } from './lib/smtpReport.js';
import { markdownTable } from './lib/table.js';

export const description = 'report latency (p50/p99) over 10M generated events, the consumer\'s folding rate, and a 100,000-recipient CSV export against psql \\copy';

const TARGET_P99_MS = 50;
const TARGET_EXPORT_RATIO = 0.5;
const DAY = 86_400_000;

const USAGE = `npm run bench -- reports [--database=postgres|pglite] [--events=N] [--big-campaign=N] [--requests=N] [--batch=N] [--no-build]

  --database      postgres (default) or pglite (then no psql \\copy reference)
  --events        events to generate (default 10000000; 1000000 on PGlite)
  --big-campaign  recipients of the campaign that is exported (default 100000)
  --requests      measured requests per kind of report (default 300, after 20 to warm up)
  --batch         events per fold transaction (default the consumer's own: 5000, 1000 on PGlite)
  --no-build      run dist/ as it is

The PostgreSQL server is postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides);
each run creates a database mr_bench_<random> and drops it afterwards.`;

interface Latency { kind: string; p50: number; p99: number; mean: number; max: number; requests: number }

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Deterministic choices, so that runs compare. */
function picker(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % n;
  };
}

async function measure(api: MailroomApi, kind: string, path: (i: number) => string, requests: number): Promise<Latency> {
  const times: number[] = [];
  for (let i = -20; i < requests; i++) {
    const started = performance.now();
    const response = await fetch(`${api.base}${path(i)}`, { headers: api.headers });
    const body = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`${kind}: ${path(i)} answered ${response.status}: ${body.slice(0, 300)}`);
    if (i >= 0) times.push(elapsed);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { kind, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: times.reduce((a, b) => a + b, 0) / times.length, max: sorted[sorted.length - 1]!, requests };
}

/** The export over HTTP: rows (lines after the header) and seconds. */
async function exportOverHttp(api: MailroomApi, campaign: string): Promise<{ rows: number; seconds: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(`${api.base}/campaigns/${campaign}/recipients.csv?event=delivered`, { headers: api.headers });
  if (response.status !== 200 || !response.body) throw new Error(`export answered ${response.status}`);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return { rows: lines - 1, seconds: (performance.now() - started) / 1000, bytes };
}

/** The same rows through psql's \copy (client-side COPY to a file). */
function exportWithPsql(url: string, accountId: number, campaign: string, dir: string): { rows: number; seconds: number } {
  const file = join(dir, 'copy.csv');
  const query = `SELECT p.id, p.to_address, p.external_id, e.at, e.type FROM messages p JOIN LATERAL (SELECT x.created_at AS at, x.type FROM message_events x WHERE x.message_id = p.id AND x.type IN ('DELIVERED', 'SENT') ORDER BY x.id LIMIT 1) e ON true WHERE p.account_id = ${accountId} AND p.campaign_id = '${campaign}' ORDER BY p.id`;
  const started = performance.now();
  const result = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', `\\copy (${query}) TO '${file}' WITH (FORMAT csv, HEADER)`], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).length - 1;
  return { rows, seconds };
}

const COUNT_BY_TYPE = `
SELECT count(*) FILTER (WHERE type IN ('QUEUED', 'SCHEDULED'))::bigint AS requested, count(*) FILTER (WHERE type = 'DELIVERED')::bigint AS delivered,
       count(*) FILTER (WHERE type = 'BOUNCED' AND details->>'bounceClass' = 'HARD')::bigint AS bounced_hard,
       count(*) FILTER (WHERE type = 'OPENED' AND details->>'machine' = 'false')::bigint AS opened,
       count(DISTINCT message_id) FILTER (WHERE type = 'OPENED' AND details->>'machine' = 'false')::bigint AS opened_unique,
       count(DISTINCT message_id) FILTER (WHERE type = 'CLICKED' AND details->>'machine' = 'false')::bigint AS clicked_unique,
       count(*) FILTER (WHERE type = 'COMPLAINED')::bigint AS complained
FROM message_events WHERE account_id = $1`;
const TOTAL_FIELDS: [string, string][] = [
  ['requested', 'requested'], ['delivered', 'delivered'], ['bounced_hard', 'bouncedHard'], ['opened', 'opened'],
  ['opened_unique', 'openedUnique'], ['clicked_unique', 'clickedUnique'], ['complained', 'complained'],
];

/** The account's totals counted from the event log itself (the check of the rollups). */
async function countEventLog(db: Database, accountId: number): Promise<Record<string, number>> {
  const [row] = await db.transaction(async (tx) => {
    await tx.query("SELECT set_config('jit', 'off', true)");
    return tx.query<Record<string, number>>(COUNT_BY_TYPE, [accountId]);
  });
  return row!;
}

async function compareTotals(expected: Record<string, number>, api: MailroomApi): Promise<string[]> {
  const days = await api.request<{ data: Record<string, number>[] }>('GET', '/reports?groupBy=day&limit=1000');
  const sum = (field: string) => days.data.reduce((total, day) => total + Number(day[field] ?? 0), 0);
  return TOTAL_FIELDS.filter(([column, field]) => Number(expected[column]) !== sum(field)).map(([column, field]) => `${field}: rollups ${sum(field)}, event log ${expected[column]}`);
}

interface Prepared {
  accountId: number;
  log: GeneratedLog;
  generateSeconds: number;
  folded: number;
  foldSeconds: number;
  firstMillion: number;
  expected: Record<string, number>;
}

/** Generates the log into `db`, folds the backlog with the consumer's own fold, and counts the log. */
async function prepare(db: Database, yearStart: Date, events: number, big: number, batch: number): Promise<Prepared> {
  const [key] = await db.query<{ account_id: number }>('SELECT account_id FROM api_keys ORDER BY id LIMIT 1');
  const accountId = key!.account_id;
  const size = campaignSizeFor(events, big);
  console.log(`\ngenerating: ${CAMPAIGNS} campaigns (one of ${number(big)} recipients, the others ${number(size)}) from ${yearStart.toISOString().slice(0, 10)}, about ${number(events)} events`);
  let t = performance.now();
  let lastPrint = 0;
  const log = await generateLog(db, accountId, yearStart, big, size, (done) => {
    if (done.events - lastPrint >= 1_000_000 || done.campaigns === CAMPAIGNS) {
      lastPrint = done.events;
      console.log(`  ${done.campaigns} campaigns, ${number(done.messages)} messages, ${number(done.events)} events (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
  });
  const generateSeconds = (performance.now() - t) / 1000;
  // What autovacuum would have done by now on a live system: statistics and visibility.
  for (const table of ['messages', 'message_events', 'report_backlog']) await db.query(`VACUUM ANALYZE ${table}`);

  console.log(`\nfolding the backlog (${number(log.events)} events, ${number(batch)} per transaction)`);
  t = performance.now();
  let folded = 0;
  let nextPrint = Math.min(1_000_000, Math.ceil(log.events / 4));
  let firstMillion = 0;
  for (;;) {
    const taken = await foldBacklog(db, batch);
    if (!taken) break;
    folded += taken;
    if (folded >= nextPrint) {
      const seconds = (performance.now() - t) / 1000;
      if (firstMillion === 0 && folded >= 1_000_000) firstMillion = seconds;
      console.log(`  ${number(folded)} events in ${seconds.toFixed(0)} s (${number(folded / seconds)}/s)`);
      nextPrint += Math.min(1_000_000, Math.ceil(log.events / 4));
    }
  }
  const foldSeconds = (performance.now() - t) / 1000;
  console.log(`  all ${number(folded)} events in ${foldSeconds.toFixed(0)} s: ${number(folded / foldSeconds)} events/s`);
  for (const table of ['report_counts', 'report_links']) await db.query(`VACUUM ANALYZE ${table}`);
  const [sizes] = await db.query<Record<string, string | number>>(`SELECT
    (SELECT count(*) FROM report_counts)::bigint AS rollup_rows,
    pg_size_pretty(pg_total_relation_size('report_counts')) AS rollups, pg_size_pretty(pg_total_relation_size('report_firsts')) AS firsts,
    pg_size_pretty(pg_total_relation_size('message_events')) AS events_size, pg_size_pretty(pg_total_relation_size('messages')) AS messages_size`);
  console.log(`  rollups: ${number(Number(sizes!.rollup_rows))} rows, ${sizes!.rollups} (report_firsts ${sizes!.firsts}); message_events ${sizes!.events_size}, messages ${sizes!.messages_size}`);
  const expected = await countEventLog(db, accountId);
  return { accountId, log, generateSeconds, folded, foldSeconds, firstMillion, expected };
}

function reportKinds(yearStart: Date): [string, (i: number) => string][] {
  const pick = picker(16);
  const yearDays = 365;
  const dayAt = (offset: number) => new Date(yearStart.getTime() + offset * DAY).toISOString().slice(0, 10);
  return [
    ['campaign report (GET /campaigns/{id}/report)', () => `/campaigns/${campaignId(pick(CAMPAIGNS))}/report`],
    ['90-day daily series, account', () => {
      const from = pick(yearDays - 90);
      return `/reports/timeseries?interval=day&from=${dayAt(from)}&to=${dayAt(from + 90)}`;
    }],
    ['90-day daily series, a tag', () => {
      const from = pick(yearDays - 90);
      return `/reports/timeseries?interval=day&tag=tag-${String(pick(100)).padStart(2, '0')}&from=${dayAt(from)}&to=${dayAt(from + 90)}`;
    }],
    ['groupBy=domain, all time (first 100)', () => '/reports?groupBy=domain'],
    ['groupBy=domain, 30 days', () => {
      const from = pick(yearDays - 30);
      return `/reports?groupBy=domain&from=${dayAt(from)}&to=${dayAt(from + 30)}`;
    }],
    ['groupBy=campaign, 30 days', () => {
      const from = pick(yearDays - 30);
      return `/reports?groupBy=campaign&from=${dayAt(from)}&to=${dayAt(from + 30)}`;
    }],
    ['groupBy=domain of a campaign', () => `/reports?groupBy=domain&campaignId=${campaignId(pick(CAMPAIGNS))}`],
  ];
}

export async function run(args: string[]): Promise<number> {
  const values = parseBenchOptions(args, {
    database: { type: 'string' }, events: { type: 'string' }, 'big-campaign': { type: 'string' }, requests: { type: 'string' },
    batch: { type: 'string' }, 'no-build': { type: 'boolean' },
  }, USAGE);
  if (!values) return 0;
  const kind = values.database ?? 'postgres';
  if (kind !== 'postgres' && kind !== 'pglite') throw new UsageError(`--database takes postgres or pglite, not "${kind}"\n\n${USAGE}`);
  const events = positiveInteger('events', values.events, kind === 'postgres' ? 10_000_000 : 1_000_000, 200_000_000);
  const big = positiveInteger('big-campaign', values['big-campaign'], 100_000, 999_999);
  const requests = positiveInteger('requests', values.requests, 300, 100_000);
  const batch = positiveInteger('batch', values.batch, defaultConsumerOptions(kind).batchSize, 1_000_000);
  const { started } = printPreamble('reports', args);
  if (kind === 'postgres') console.log(await describeBenchServer('--database=pglite'));
  if (!values['no-build']) buildDist();

  const scratch = mkdtempSync(join(tmpdir(), 'mailroom-bench-reports-'));
  const removeScratch = onCleanup(() => rmSync(scratch, { recursive: true, force: true }));
  let api: MailroomApi | null = null;
  let db: Database | null = null;
  try {
    const yearStart = new Date(Math.floor((Date.now() - 366 * DAY) / DAY) * DAY);
    let prepared: Prepared;
    if (kind === 'postgres') {
      api = await MailroomApi.start({ kind });
      db = await openDatabase({ databaseUrl: api.database!.url, dataDir: scratch, dbPoolSize: 4 });
      prepared = await prepare(db, yearStart, events, big, batch);
    } else {
      // PGlite's data directory has one owner: a first start migrates it and makes the account,
      // then this process fills it, then Mailroom starts on it again to answer.
      const env = { MAILROOM_DATA_DIR: scratch };
      const first = await MailroomApi.start({ kind, env });
      await first.stop();
      await first.close();
      db = await openDatabase({ databaseUrl: '', dataDir: scratch, dbPoolSize: 1 });
      prepared = await prepare(db, yearStart, events, big, batch);
      await db.close();
      db = null;
      api = await MailroomApi.start({ kind, env });
    }
    const { accountId, log, folded, foldSeconds, firstMillion, generateSeconds } = prepared;
    const mismatches = await compareTotals(prepared.expected, api);
    console.log(mismatches.length === 0 ? '  account totals = a count of the event log by type: OK' : `  account totals differ from the event log: ${mismatches.join('; ')}`);

    console.log(`\nreports: ${requests} sequential requests per kind after 20 to warm up, one keep-alive connection`);
    const latencies: Latency[] = [];
    for (const [name, path] of reportKinds(yearStart)) {
      const latency = await measure(api, name, path, requests);
      latencies.push(latency);
      console.log(`  ${name}: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`);
    }

    console.log(`\nexport of ${campaignId(0)} (event=delivered), 3 runs${kind === 'postgres' ? ' each, alternating with psql \\copy' : ''}`);
    const http: { rows: number; seconds: number }[] = [];
    const psql: { rows: number; seconds: number }[] = [];
    for (let round = 0; round < 3; round++) {
      const viaHttp = await exportOverHttp(api, campaignId(0));
      http.push(viaHttp);
      let line = `  HTTP: ${number(viaHttp.rows)} rows in ${viaHttp.seconds.toFixed(2)} s (${number(viaHttp.bytes / 1e6, 1)} MB)`;
      if (kind === 'postgres') {
        const viaPsql = exportWithPsql(api.database!.url, accountId, campaignId(0), scratch);
        psql.push(viaPsql);
        line += `; psql \\copy: ${number(viaPsql.rows)} rows in ${viaPsql.seconds.toFixed(2)} s`;
      }
      console.log(line);
    }
    const median = (runs: { rows: number; seconds: number }[]) => [...runs].sort((a, b) => a.seconds - b.seconds)[1]!;
    const httpRate = median(http).rows / median(http).seconds;
    const psqlRate = psql.length > 0 ? median(psql).rows / median(psql).seconds : null;
    const sameRows = psql.length === 0 || http.every((r) => r.rows === psql[0]!.rows);

    console.log(`\nResults (${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}, ${started.toISOString().slice(0, 10)}; ${invocation(['reports', ...args])})\n`);
    console.log(`generated ${number(log.messages)} messages and ${number(log.events)} events in ${generateSeconds.toFixed(0)} s; folded at ${number(folded / foldSeconds)} events/s ` +
      `(${foldSeconds.toFixed(0)} s${firstMillion > 0 ? `; the first million in ${firstMillion.toFixed(0)} s` : ''})\n`);
    console.log(markdownTable(['report', 'p50 ms', 'p99 ms', 'mean ms', 'max ms'], latencies.map((l) => [l.kind, l.p50.toFixed(1), l.p99.toFixed(1), l.mean.toFixed(1), l.max.toFixed(1)])));
    console.log('');
    const exportRows = [['GET /campaigns/{id}/recipients.csv?event=delivered', number(median(http).rows), median(http).seconds.toFixed(2), number(httpRate)]];
    if (psqlRate !== null) exportRows.push(['psql \\copy (same query, one statement)', number(median(psql).rows), median(psql).seconds.toFixed(2), number(psqlRate)]);
    console.log(markdownTable([`export of the ${number(big)}-recipient campaign`, 'rows', 'seconds (median of 3)', 'rows/s'], exportRows));
    const worstP99 = Math.max(...latencies.map((l) => l.p99));
    console.log(`\ntargets (${kind === 'postgres' ? 'PostgreSQL' : 'PGlite: the targets are PostgreSQL\'s'}):`);
    console.log(`  ${worstP99 < TARGET_P99_MS ? 'PASS' : 'MISS'}  p99 under ${TARGET_P99_MS} ms for every report: worst ${worstP99.toFixed(1)} ms`);
    if (psqlRate !== null) {
      console.log(`  ${httpRate / psqlRate >= TARGET_EXPORT_RATIO ? 'PASS' : 'MISS'}  export at least ${TARGET_EXPORT_RATIO} of psql \\copy: ${(httpRate / psqlRate).toFixed(2)}${sameRows ? '' : ' (ROW COUNTS DIFFER)'}`);
    }
    console.log(`  ${mismatches.length === 0 ? 'PASS' : 'FAIL'}  account totals equal the event log's`);
    const problems = await api.stop();
    for (const problem of problems) console.log(`  note: ${problem}`);
    return mismatches.length === 0 && sameRows ? 0 : 1;
  } finally {
    await db?.close();
    await api?.close();
    await removeScratch();
  }
}
