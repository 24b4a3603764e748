/**
 * console: the server time of the console's messages page over 10 million messages in one
 * account (issue 18). The messages are generated straight into the store (bench/lib/consoleData.ts),
 * then `mailroom start --roles api` runs on it and sequential GET /emails requests (one keep-alive
 * connection, one at a time) give p50/p99 of what the page asks for: the first page, a search by
 * `to`, by `externalId`, a status with a one-week date range, by `clientId`, and 100 pages deep
 * by the cursors. Before that, EXPLAIN ANALYZE of the product's list query shows each one's plan.
 * The reference, in the same run, is a bare Fastify route that builds and serialises a page of
 * the same shape (bench/lib/echoServer.ts); each result is also given as a ratio to it.
 *
 * Every answer is compared with the ids a plain query of the table gives (bench/lib/consoleScenarios.ts):
 * a wrong answer fails the run.
 */
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseBenchOptions, positiveInteger, UsageError } from './lib/args.js';
import { DATA_VERSION } from './lib/consoleData.js';
import { ensureGenerated, messageTableSize, type Generated } from './lib/consolePrepare.js';
import { answerProblem, explainList, listQuery, planScenarios, type DeepPaging, type MessageItem, type Scenario } from './lib/consoleScenarios.js';
import { migrationCount, openConsoleStore, startMailroom } from './lib/consoleStore.js';
import { STORE_LABELS, type MailroomApi, type StoreKind } from './lib/mailroomApi.js';
import { describeBenchServer } from './lib/postgres.js';
import { buildDist, printPreamble, ROOT } from './lib/preamble.js';
import { childEnv, freePort, startChild, waitForOk } from './lib/processes.js';
import { latencyOf, timedGet, type Latency } from './lib/sequential.js';
import { number } from './lib/smtpReport.js';
import { markdownTable } from './lib/table.js';

export const description = 'the console\'s messages list (first page, to, externalId, status + dates, clientId, 100 pages deep) over 10M generated messages: p50/p99 on PostgreSQL and PGlite';

const TARGET_P99_MS = 50;
/** The page size the console asks for (console/src/format.ts, messageQuery). */
const PAGE_SIZE = 50;
const PAGES = 100;
const WARMUP = 20;

const USAGE = `npm run bench -- console [--database=postgres|pglite|both] [--messages=N] [--recipients=N] [--requests=N] [--walks=N] [--keep] [--no-build]

  --database    postgres, pglite or both (default both)
  --messages    messages to generate in the account (default 10000000)
  --recipients  distinct recipients among them (default 100000)
  --requests    measured requests per scenario, after ${WARMUP} to warm up (default 300)
  --walks       measured walks of ${PAGES} pages, after one to warm up (default 5)
  --keep        keep the generated store for the next run with the same --messages, and use it if
                there is one: the database mr_bench_console_<N>_g<version>_m<migrations>, or the
                directory /tmp/mailroom-bench-console-<same>; drop or remove it by hand when done
  --no-build    run dist/ as it is

The PostgreSQL server is postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides).`;

interface Row {
  name: string;
  latency: Latency;
}

interface StoreResult {
  kind: StoreKind;
  generated: Generated;
  reference: Latency;
  rows: Row[];
  problems: string[];
}

const loadLine = () => `load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`;

/** The reference: the bare Fastify route's page of the same shape, measured the same way. */
async function measureReference(requests: number): Promise<Latency> {
  const port = await freePort();
  const child = startChild('echo server', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/echoServer.ts'), String(port)], { cwd: ROOT, env: childEnv({}) });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForOk(`${base}/readyz`, child, 30_000);
    const times: number[] = [];
    for (let i = -WARMUP; i < requests; i++) {
      const answer = await timedGet(`${base}/emails?limit=${PAGE_SIZE}`, {});
      if (answer.status !== 200 || (JSON.parse(answer.body) as { data: unknown[] }).data.length !== PAGE_SIZE) throw new Error(`echo server answered ${answer.status}`);
      if (i >= 0) times.push(answer.ms);
    }
    return latencyOf(times);
  } finally {
    await child.stop();
  }
}

/** A scenario's requests in turn through its cases; each answer is checked (outside the timing). */
async function measureScenario(api: MailroomApi, scenario: Scenario, requests: number): Promise<Latency> {
  const times: number[] = [];
  for (let i = -WARMUP; i < requests; i++) {
    const wanted = scenario.cases[(i + WARMUP) % scenario.cases.length]!;
    const path = listQuery(wanted.params, PAGE_SIZE);
    const answer = await timedGet(`${api.base}${path}`, api.headers);
    if (answer.status !== 200) throw new Error(`${scenario.name}: GET ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    const problem = answerProblem(answer.body, wanted, PAGE_SIZE);
    if (problem) throw new Error(`${scenario.name}: GET ${path}: wrong answer: ${problem}`);
    if (i >= 0) times.push(answer.ms);
  }
  return latencyOf(times);
}

/** One walk of `deep.pages` pages by the cursors: each page's time; the pages must be the newest messages, in order, without gaps. */
async function walk(api: MailroomApi, deep: DeepPaging): Promise<number[]> {
  const times: number[] = [];
  let cursor: string | undefined;
  let previous: string | null = null;
  for (let page = 1; page <= deep.pages; page++) {
    const path = listQuery(cursor ? { cursor } : {}, PAGE_SIZE);
    const answer = await timedGet(`${api.base}${path}`, api.headers);
    if (answer.status !== 200) throw new Error(`page ${page}: GET ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    times.push(answer.ms);
    const body = JSON.parse(answer.body) as { data: MessageItem[]; meta: { pagination: { nextCursor: string | null } } };
    const ids = body.data.map((item) => item.id);
    if (ids.length !== PAGE_SIZE) throw new Error(`page ${page}: ${ids.length} messages, not ${PAGE_SIZE}`);
    for (const id of ids) {
      if (previous !== null && !(id < previous)) throw new Error(`page ${page}: ${id} does not come after ${previous} (ids must fall strictly)`);
      previous = id;
    }
    if (page === 1 && ids.join() !== deep.firstPage.join()) throw new Error('page 1 is not the newest messages');
    if (page === deep.pages && ids.at(-1) !== deep.lastId) throw new Error(`page ${page} ends at ${ids.at(-1)}, not at the ${number(deep.pages * PAGE_SIZE)}th newest message ${deep.lastId}`);
    if (body.meta.pagination.nextCursor !== ids.at(-1)) throw new Error(`page ${page}: nextCursor is not its last id`);
    cursor = body.meta.pagination.nextCursor;
  }
  return times;
}

async function benchStore(kind: StoreKind, options: { messages: number; recipients: number; requests: number; walks: number; keep: boolean }): Promise<StoreResult> {
  const label = STORE_LABELS[kind];
  const keepKey = options.keep ? `${options.messages}_g${DATA_VERSION}_m${migrationCount()}` : null;
  const store = await openConsoleStore(kind, keepKey);
  let api: MailroomApi | null = null;
  try {
    console.log(`\n== ${label}: ${store.where}`);
    const generated = await ensureGenerated(store, options.messages, options.recipients, (line) => console.log(`  ${line}`));
    console.log(generated.reused
      ? `  reusing ${number(generated.messages)} messages generated ${generated.generatedAt.toISOString()} (that generation took ${generated.seconds.toFixed(0)} s)`
      : `  generated ${number(generated.messages)} messages in ${generated.seconds.toFixed(0)} s (${number(generated.messages / generated.seconds)}/s, indexes and VACUUM ANALYZE included)`);

    const db = await store.open();
    let scenarios: Scenario[];
    let deep: DeepPaging;
    try {
      console.log(`  ${await messageTableSize(db)}`);
      ({ scenarios, deep } = await planScenarios(db, generated.accountId, generated.firstMs, PAGE_SIZE, PAGES));
      console.log('\n  plans of the list query (EXPLAIN ANALYZE of src/sending/messages.sql listMessages, the first case of each):');
      const explained: [string, Parameters<typeof explainList>[2]][] = [
        ...scenarios.map((scenario): [string, Parameters<typeof explainList>[2]] => [scenario.name, scenario.cases[0]!.params]),
        [`page ${PAGES}`, { cursor: deep.lastCursor }],
      ];
      for (const [name, params] of explained) {
        console.log(`  ${name} ${JSON.stringify(params)}:`);
        for (const line of await explainList(db, generated.accountId, params, PAGE_SIZE)) console.log(`    ${line}`);
      }
    } finally {
      await db.close();
    }

    api = await startMailroom(store);
    console.log(`\n  mailroom started in ${(api.startupMs / 1000).toFixed(1)} s; ${loadLine()}`);
    console.log(`  reference: bare Fastify GET /emails (${PAGE_SIZE} messages built and serialised), ${options.requests} sequential requests after ${WARMUP}`);
    const reference = await measureReference(options.requests);
    console.log(`    p50 ${reference.p50.toFixed(2)} ms, p99 ${reference.p99.toFixed(2)} ms`);
    const rows: Row[] = [];
    for (const scenario of scenarios) {
      const latency = await measureScenario(api, scenario, options.requests);
      rows.push({ name: scenario.name, latency });
      console.log(`  ${scenario.name}: p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms, max ${latency.max.toFixed(1)} ms (${latency.requests} answers, all checked)`);
    }
    await walk(api, deep);
    const all: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < options.walks; i++) {
      const times = await walk(api, deep);
      all.push(...times);
      last.push(times.at(-1)!);
    }
    rows.push({ name: `paging ${PAGES} pages deep: every page`, latency: latencyOf(all) });
    rows.push({ name: `paging: the ${PAGES}th page (${options.walks} walks)`, latency: latencyOf(last) });
    console.log(`  paging: ${options.walks} walks of ${PAGES} pages after one to warm up (every page checked): every page p50 ${latencyOf(all).p50.toFixed(2)} ms, p99 ${latencyOf(all).p99.toFixed(2)} ms; page ${PAGES} ${last.map((ms) => ms.toFixed(1)).join(', ')} ms`);
    console.log(`  ${loadLine()}`);
    const problems = await api.stop();
    return { kind, generated, reference, rows, problems };
  } finally {
    await api?.close();
    await store.dispose();
  }
}

function report(result: StoreResult, requests: number): void {
  const { kind, reference, rows, generated } = result;
  console.log(`\n${STORE_LABELS[kind]}, ${number(generated.messages)} messages (${number(generated.recipients)} recipients); round trip on loopback, ${requests} sequential requests per scenario:\n`);
  const line = (name: string, latency: Latency) =>
    [name, String(latency.requests), latency.p50.toFixed(2), latency.p99.toFixed(2), latency.mean.toFixed(2), latency.max.toFixed(1), (latency.p50 / reference.p50).toFixed(1)];
  console.log(markdownTable(['GET /emails?limit=50', 'requests', 'p50 ms', 'p99 ms', 'mean ms', 'max ms', 'p50 / reference'],
    [line('bare Fastify route, same page shape (reference)', reference), ...rows.map((row) => line(row.name, row.latency))]));
  const worst = rows.reduce((a, b) => (b.latency.p99 > a.latency.p99 ? b : a));
  const verdict = worst.latency.p99 < TARGET_P99_MS ? 'PASS' : 'MISS';
  console.log(`\n  ${verdict}  p99 under ${TARGET_P99_MS} ms for every scenario${kind === 'pglite' ? ' (the target is PostgreSQL\'s; PGlite for comparison)' : ''}: worst ${worst.latency.p99.toFixed(1)} ms (${worst.name})`);
  for (const problem of result.problems) console.log(`  note: ${problem}`);
}

export async function run(args: string[]): Promise<number> {
  const values = parseBenchOptions(args, {
    database: { type: 'string' }, messages: { type: 'string' }, recipients: { type: 'string' }, requests: { type: 'string' },
    walks: { type: 'string' }, keep: { type: 'boolean' }, 'no-build': { type: 'boolean' },
  }, USAGE);
  if (!values) return 0;
  const database = values.database ?? 'both';
  if (!['postgres', 'pglite', 'both'].includes(database)) throw new UsageError(`--database takes postgres, pglite or both, not "${database}"\n\n${USAGE}`);
  const kinds: StoreKind[] = database === 'both' ? ['postgres', 'pglite'] : [database as StoreKind];
  const options = {
    messages: positiveInteger('messages', values.messages, 10_000_000, 1_000_000_000),
    recipients: positiveInteger('recipients', values.recipients, 100_000, 100_000_000),
    requests: positiveInteger('requests', values.requests, 300, 100_000),
    walks: positiveInteger('walks', values.walks, 5, 1000),
    keep: values.keep ?? false,
  };
  printPreamble('console', args);
  if (kinds.includes('postgres')) console.log(await describeBenchServer('--database=pglite'));
  console.log('timing: the client\'s round trip on loopback (fetch, one keep-alive connection, one request at a time, to the last byte): Mailroom sends no Server-Timing; the reference\'s round trip is what HTTP and JSON alone cost');
  if (!values['no-build']) buildDist();

  const results: StoreResult[] = [];
  for (const kind of kinds) results.push(await benchStore(kind, options));
  console.log('\nResults');
  for (const result of results) report(result, options.requests);
  return 0;
}
