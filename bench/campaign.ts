/**
 * campaign: a campaign of N contacts (100,000 by default) delivered by the mx transport with DKIM
 * RSA-2048 to postfix's `smtp-sink`, from `POST /campaigns/{id}/start` to the sink's N-th message;
 * beside it, as the reference measured in the same run, `bench delivery`'s measure for the same
 * number of plain queued messages (the same helper, the same sink, DNS and domains).
 *
 * Per database: first the reference (N messages queued through POST /emails/bulk by an api-only
 * process, then a worker-only process timed from its spawn to the sink's last message); then a
 * fresh store with N contacts subscribed to one list (written with SQL before Mailroom starts),
 * a process with the roles api and worker, a campaign created through the API, and the time from
 * its start to the sink's N-th message. The target is a campaign rate of at least 0.9 of plain
 * delivery's: the campaign door (audience pages, ledger, rendering per contact) should add almost
 * nothing to the delivery path.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { requireAccount } from '../src/accounts/accounts.js';
import { createList, getListRow } from '../src/lists/lists.js';
import { startDnsServer, type Zone } from '../test/helpers/dnsServer.js';
import { invocation, parseBenchOptions, positiveInteger, UsageError } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { cpuSnapshot, cpuSplit, formatSplit, type CpuSplit } from './lib/cpu.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuProfile.js';
import { mailroomRow, number } from './lib/deliveryReport.js';
import { composedSample, createDeliveryStore, storeCounts, type DeliveryStore, type StoreCounts } from './lib/deliveryStore.js';
import { runMailroom } from './lib/mailroomDelivery.js';
import { BENCH_SERVER_URL, commitCount, serverVersion } from './lib/postgres.js';
import { buildDist, machineLine } from './lib/preamble.js';
import { childEnv, freePort, startChild, waitForOk, type Child } from './lib/processes.js';
import { startCountingSink, type CountingSink } from './lib/smtpSink.js';
import { markdownTable } from './lib/table.js';

export const description = 'a campaign to N contacts (mx, DKIM) from start to the sink\'s last message, against bench delivery\'s rate for N plain queued messages';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const API_KEY = 'mr_bench_campaign_0123456789abcdef';
const SENDING_DOMAIN = 'shop.bench.test';
const DOMAINS = 100;
const TARGET_RATIO = 0.9;
/** The delivery bench's body: about 720 bytes of text, a message of about 1 KB before its DKIM signature. */
const BODY = 'Your order has shipped and is on its way. Track it in your account at any time.\n'.repeat(9);
/** The campaign's HTML, about the size of BODY, with the contact's address filled in (mustache). */
const HTML =
  '<p>Hello {{email}},</p>\n' +
  '<p>Our winter collection is here: warm coats, wool scarves and boots for every day.</p>\n'.repeat(7) +
  '<p><a href="https://shop.bench.test/winter">See the collection</a></p>\n';
/** HTML's text part as html-to-text makes it, given with the HTML by --content=both. */
const HTML_AS_TEXT =
  'Hello {{email}},\n\n' +
  'Our winter collection is here: warm coats, wool scarves and boots for every day.\n\n'.repeat(7) +
  'See the collection [https://shop.bench.test/winter]\n';

const USAGE = `npm run bench -- campaign [--contacts=N] [--database=pglite|postgres|both] [--concurrency=N]
                            [--content=html|both|text] [--skip-reference] [--profile] [--no-build]

  --contacts        contacts of the campaign, and plain messages of the reference (default 100000)
  --database        Mailroom's store (default pglite; both: PGlite then PostgreSQL)
  --concurrency     deliveries in flight (default 100, as bench delivery): the worker's concurrency
                    and its per-destination connection limit
  --content         html (default: the campaign's HTML; its text part is made from it per contact), both
                    (the HTML and its text part given: no html-to-text) or text (the delivery bench's
                    text body alone: the message plain delivery sends)
  --skip-reference  leave out the plain-delivery reference (bench delivery's measure)
  --profile         run the campaign's process under node --cpu-prof and print where its main thread
                    spent the measured window (profiling slows it down: do not quote those rates)
  --no-build        use dist/ as it is instead of running npm run build first

PostgreSQL: postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides); each run
creates a database mr_bench_<random> and drops it afterwards. smtp-sink comes with Debian's postfix.`;

type Kind = 'pglite' | 'postgres';

interface Options {
  contacts: number;
  databases: Kind[];
  concurrency: number;
  content: 'html' | 'both' | 'text';
  skipReference: boolean;
  profile: boolean;
  build: boolean;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    contacts: { type: 'string' },
    database: { type: 'string' },
    concurrency: { type: 'string' },
    content: { type: 'string' },
    'skip-reference': { type: 'boolean' },
    profile: { type: 'boolean' },
    'no-build': { type: 'boolean' },
  }, USAGE);
  if (!values) return null;
  const database = values.database ?? 'pglite';
  if (!['pglite', 'postgres', 'both'].includes(database)) throw new UsageError(`--database takes pglite, postgres or both; got "${database}"`);
  const content = values.content ?? 'html';
  if (content !== 'html' && content !== 'both' && content !== 'text') throw new UsageError(`--content takes html, both or text; got "${content}"`);
  return {
    content,
    contacts: positiveInteger('contacts', values.contacts, 100_000, 10_000_000),
    databases: database === 'both' ? ['pglite', 'postgres'] : [database as Kind],
    concurrency: positiveInteger('concurrency', values.concurrency, 100, 1000),
    skipReference: values['skip-reference'] ?? false,
    profile: values.profile ?? false,
    build: !values['no-build'],
  };
}

function zone(): Zone {
  const entries: Zone = {};
  for (let index = 0; index < DOMAINS; index++) {
    entries[`d${index}.bench.test`] = { MX: [{ exchange: `mx.d${index}.bench.test`, priority: 10 }] };
    entries[`mx.d${index}.bench.test`] = { A: ['127.0.0.1'] };
  }
  return entries;
}

/** Plain message `n` of the reference: bench delivery's request. */
function request(n: number): Record<string, unknown> {
  return {
    from: `Shop <orders@${SENDING_DOMAIN}>`,
    to: `customer${n}@d${n % DOMAINS}.bench.test`,
    subject: `Your order ${n} has shipped`,
    text: BODY,
    externalId: `order-${n}`,
  };
}

/** One row of the report: a plain-delivery reference or a campaign, on one database. */
interface Row {
  label: string;
  database: Kind;
  kind: 'plain' | 'campaign';
  messages: number;
  seconds: number;
  /** Start (worker spawn, or POST start) to the first message at the sink. */
  startupSeconds: number;
  steadyRate: number;
  cpuPer1000: number | null;
  postgresPer1000: number | null;
  commitsPerMessage: number | null;
  /** Bytes of one message as Mailroom composes and signs it (without the unsubscribe link added at delivery). */
  messageBytes: number | null;
  verified: string;
  ok: boolean;
}

const STORE_LABEL: Record<Kind, string> = { pglite: 'PGlite', postgres: 'PostgreSQL' };
const CONTENT_LABEL: Record<Options['content'], string> = {
  html: `HTML of ${HTML.length} bytes (the text part made from it per contact)`,
  both: `HTML of ${HTML.length} bytes and its text part of ${HTML_AS_TEXT.length} bytes`,
  text: `text of ${BODY.length} bytes`,
};
/** The campaign's row label: its content when not the default. */
const campaignLabel = (options: Options, database: Kind) => `campaign${options.content === 'html' ? '' : ` (${options.content === 'both' ? 'HTML and text given' : 'text'})`}, ${STORE_LABEL[database]}`;

/** N contacts `customer<n>@d<n % 100>.bench.test`, subscribed a day ago to one new list; its id. */
async function loadAudience(store: DeliveryStore, contacts: number): Promise<{ listId: string; seconds: number }> {
  const started = performance.now();
  const db = await store.open();
  try {
    const account = await requireAccount(db, 'default');
    const now = new Date();
    const list = await createList(db, account.id, { name: 'bench customers', optIn: 'single' }, now);
    const row = await getListRow(db, account.id, list.id);
    if (!row) throw new Error('the list just created is not there');
    const since = new Date(now.getTime() - 86_400_000);
    // One statement: the contacts, then their memberships (the list's counts move by its trigger).
    await db.query(
      `WITH c AS (
         INSERT INTO contacts (account_id, email, created_at, updated_at)
         SELECT $1, 'customer' || n || '@d' || (n % ${DOMAINS}) || '.bench.test', $3, $3 FROM generate_series(0, $2::int - 1) AS n
         ORDER BY n
         RETURNING id
       )
       INSERT INTO list_members (list_seq, contact_id, status, created_at, subscribed_at, updated_at)
       SELECT $4, id, 'subscribed', $3, $3, $3 FROM c`,
      [account.id, contacts, since, row.seq],
    );
    // As a list of this size would be by the time it is mailed (autovacuum); PGlite has none.
    await db.query('ANALYZE contacts');
    await db.query('ANALYZE list_members');
    const [counted] = await db.query<{ subscribed: number }>('SELECT subscribed_count::int AS subscribed FROM lists WHERE seq = $1', [row.seq]);
    if (counted?.subscribed !== contacts) throw new Error(`the list counts ${counted?.subscribed} subscribed members, not ${contacts}`);
    return { listId: list.id, seconds: (performance.now() - started) / 1000 };
  } finally {
    await db.close();
  }
}

/** bench delivery's settings for Mailroom's processes (bench/lib/mailroomDelivery.ts), mx transport. */
function mailroomEnv(store: DeliveryStore, sink: CountingSink, dnsAddress: string, concurrency: number, port: number): Record<string, string> {
  const env: Record<string, string> = {
    MAILROOM_HOST: '127.0.0.1',
    MAILROOM_HTTP_PORT: String(port),
    MAILROOM_DATA_DIR: store.dataDir,
    MAILROOM_BOOTSTRAP_API_KEY: API_KEY,
    MAILROOM_LOG_LEVEL: 'warn',
    MAILROOM_TRANSPORT: 'mx',
    MAILROOM_HELO_NAME: 'mailroom.bench.test',
    MAILROOM_WORKER_CONCURRENCY: String(concurrency),
    MAILROOM_DESTINATION_CONCURRENCY: String(concurrency),
    MAILROOM_DNS_SERVERS: dnsAddress,
    MAILROOM_MX_DELIVERY_PORT: String(sink.port),
  };
  if (store.databaseUrl) env.MAILROOM_DATABASE_URL = store.databaseUrl;
  return env;
}

interface CampaignData {
  id: string;
  state: string;
  counts: { total: number | null; processed: number; queued: number; rejected: number; refused: number };
}

async function api<T>(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status < 200 || response.status > 299) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return (JSON.parse(text) as { data: T }).data;
}

/**
 * What the store's PostgreSQL backends are busy with (--profile): pg_stat_activity sampled about
 * every 10 ms, the active statements counted by their text, as statement-seconds per 1,000
 * messages (the average number active times the wall time). On a saturated machine a sample is
 * time a statement was running or waiting for a core: where to look, not a CPU measure.
 */
function sampleStatements(url: string): { stop(messages: number, what: string): Promise<string> } {
  const client = new pg.Client({ connectionString: url });
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const started = performance.now();
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ query: string; wait: string | null }>(
        "SELECT query, wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'",
      );
      samples++;
      for (const { query, wait } of rows) {
        // A statement waiting (a lock, the WAL flush of its commit) is shown apart from the same one running.
        const key = `${wait ? `[${wait}] ` : ''}${query.replace(/\s+/g, ' ').trim()}`.slice(0, 120);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      await sleep(10);
    }
    await client.end();
  })().catch(() => {}); // a sampler that cannot connect reports no samples
  // Stopped by stop(), or on the way out when the run failed in between.
  const halt = onCleanup(async () => {
    running = false;
    await loop;
  });
  return {
    async stop(messages, what) {
      const seconds = (performance.now() - started) / 1000;
      await halt();
      const busy = [...counts.values()].reduce((sum, n) => sum + n, 0);
      const perSample = (1000 * seconds) / Math.max(1, samples) / messages; // statement-seconds per 1,000 messages per active sample
      const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 16);
      return [
        `PostgreSQL statements active during ${what} (pg_stat_activity, ${number(samples)} samples over ${seconds.toFixed(1)} s, ` +
          `${(busy / Math.max(1, samples)).toFixed(2)} active on average: ${(busy * perSample).toFixed(2)} statement-seconds per 1,000 messages):`,
        ...top.map(([query, n]) => `  ${((100 * n) / Math.max(1, busy)).toFixed(1).padStart(5)}%  ${(n * perSample).toFixed(3).padStart(6)} s/1,000  ${query}`),
      ].join('\n');
    },
  };
}

interface CampaignRun {
  row: Row;
  split: CpuSplit | null;
  problems: string[];
  profile?: string;
}

async function runCampaign(options: Options, database: Kind, sink: CountingSink, dnsAddress: string, profileDir: string | null): Promise<CampaignRun> {
  const label = campaignLabel(options, database);
  const problems: string[] = [];
  const store = await createDeliveryStore(database, API_KEY, SENDING_DOMAIN);
  try {
    process.stdout.write(`  ${number(options.contacts)} contacts subscribed to one list (SQL, before Mailroom starts) ... `);
    const audience = await loadAudience(store, options.contacts);
    console.log(`${audience.seconds.toFixed(1)} s`);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const profileArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child: Child = startChild('mailroom api,worker', process.execPath, [...profileArgs, 'dist/cli/main.js', 'start', '--roles', 'api,worker'], {
      cwd: ROOT,
      env: childEnv(mailroomEnv(store, sink, dnsAddress, options.concurrency, port)),
    });
    let seconds: number;
    let firstAt: number;
    let doneAt: number;
    let started: number;
    let split: CpuSplit | null;
    let commits: number | null = null;
    let extraAtSink: number;
    let campaign: CampaignData;
    let window: [number, number];
    let statements: string | null = null;
    let firstPageAt: number | null = null;
    let measuring = true;
    try {
      await waitForOk(`${base}/readyz`, child, 180_000);
      const created = await api<CampaignData>(base, 'POST', '/campaigns', {
        name: 'Winter collection',
        from: `Shop <news@${SENDING_DOMAIN}>`,
        subject: 'The winter collection is here',
        ...(options.content === 'text' ? { text: BODY } : { html: HTML }),
        ...(options.content === 'both' ? { text: HTML_AS_TEXT } : {}),
        lists: [audience.listId],
      });
      // The process's idle statements (feeder polls, worker claims) are reported by now.
      await sleep(1_500);
      const commitsBefore = store.scratch ? await commitCount(store.scratch.name) : null;
      const arrivals = sink.track(options.contacts, 60_000);
      const baseline = sink.count();
      const died = child.exited.then((exit) => {
        throw new Error(`the process exited (code ${exit.code}, signal ${exit.signal}) before the campaign was delivered.\n${child.describeOutput()}`);
      });
      const sampler = profileDir && store.scratch ? sampleStatements(store.scratch.url) : null;
      const cpuBefore = cpuSnapshot();
      const monotonicStart = Number(process.hrtime.bigint() / 1000n);
      started = performance.now();
      process.stdout.write(`  POST /campaigns/${created.id}/start, delivering (mx, concurrency ${options.concurrency}) ... `);
      await api<CampaignData>(base, 'POST', `/campaigns/${created.id}/start`);
      // When the feeder's first page committed (polled every 50 ms until then): start-up apart from delivery.
      void (async () => {
        while (measuring && firstPageAt === null) {
          const data = await api<CampaignData>(base, 'GET', `/campaigns/${created.id}`).catch(() => null);
          if (data && data.counts.processed > 0) firstPageAt = performance.now();
          else await sleep(50);
        }
      })();
      try {
        ({ firstAt, doneAt } = await Promise.race([arrivals, died]));
      } catch (error) {
        // A stall: say what the campaign and the process were doing.
        const state = await api<CampaignData>(base, 'GET', `/campaigns/${created.id}`).then(
          (data) => `the campaign is ${data.state}, counts ${JSON.stringify(data.counts)}`,
          (reason: unknown) => `GET /campaigns/{id} failed: ${(reason as Error).message}`,
        );
        const { lines, tail } = child.output();
        const logged = lines === 0 ? 'the process logged nothing' : `the process logged ${lines} line(s), the last: ${tail.slice(-3).map((line) => line.slice(0, 600)).join('\n    ')}`;
        throw new Error(`${(error as Error).message}; ${state}; ${logged}`);
      }
      const cpuAfter = cpuSnapshot();
      window = [monotonicStart, Number(process.hrtime.bigint() / 1000n)];
      split = cpuSplit(cpuBefore, cpuAfter, child.process.pid);
      seconds = (doneAt - started) / 1000;
      console.log(`${seconds.toFixed(2)} s`);
      const pageSeen = firstPageAt === null ? 'never' : `after ${((firstPageAt - started) / 1000).toFixed(2)} s`;
      console.log(`  the first message was at the sink after ${((firstAt - started) / 1000).toFixed(2)} s; GET /campaigns/{id} (polled) showed the first page stored ${pageSeen}`);
      if (sampler) statements = await sampler.stop(options.contacts, 'the campaign (feeding and delivery)');

      await sleep(1_000);
      extraAtSink = sink.count() - baseline - options.contacts;
      campaign = await api<CampaignData>(base, 'GET', `/campaigns/${created.id}`);
      for (let waited = 0; campaign.state === 'running' && waited < 10_000; waited += 250) {
        await sleep(250);
        campaign = await api<CampaignData>(base, 'GET', `/campaigns/${created.id}`);
      }
      const exit = await child.stop('SIGTERM');
      if (exit.code !== 0) problems.push(`the process exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
      const logged = child.output();
      if (logged.lines > 0) problems.push(`the process logged ${logged.lines} line(s) at warn or above; the last: ${logged.tail.slice(-3).join(' | ')}`);
      if (store.scratch && commitsBefore !== null) commits = (await commitCount(store.scratch.name)) - commitsBefore;
    } finally {
      measuring = false;
      await child.stop();
    }

    let after: StoreCounts;
    let messageBytes: number | null = null;
    const db = await store.open();
    try {
      after = await storeCounts(db);
      messageBytes = (await composedSample(db, store.sealer)).length;
      // Each page's ledger rows share the time of its transaction: how many contacts a page stored.
      const [pages] = await db.query<{ pages: number; largest: number }>(
        'SELECT count(*)::int AS pages, max(n)::int AS largest FROM (SELECT count(*) AS n FROM campaign_recipients GROUP BY campaign_seq, created_at) p',
      );
      if (pages) console.log(`  the feeder stored ${number(pages.pages)} pages: ${number(options.contacts / Math.max(1, pages.pages), 1)} contacts per transaction on average, ${number(pages.largest)} at most`);
    } finally {
      await db.close();
    }
    const delivered = after.statuses.DELIVERED ?? 0;
    const n = options.contacts;
    if (campaign.state !== 'finished') problems.push(`GET /campaigns/{id}: state ${campaign.state}, not finished`);
    if (campaign.counts.queued !== n) problems.push(`GET /campaigns/{id}: counts.queued ${campaign.counts.queued}, not ${n} (${JSON.stringify(campaign.counts)})`);
    if (after.queued !== 0 || delivered !== n) problems.push(`after the run: ${delivered} DELIVERED of ${n}, ${after.queued} still queued (${JSON.stringify(after.statuses)})`);
    if (extraAtSink !== 0) problems.push(`smtp-sink received ${extraAtSink} messages more than the campaign's ${n} (duplicates)`);
    const ok = campaign.state === 'finished' && campaign.counts.queued === n && after.queued === 0 && delivered === n && extraAtSink === 0;

    let profile: string | undefined;
    if (profileDir) {
      const main = mainThreadProfile(profileDir);
      profile = main ? `main thread: ${formatProfile(summarizeProfile(main, ROOT, window, 25), ROOT, n)}` : `no .cpuprofile written in ${profileDir}`;
      const others = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(profileDir, name)).filter((file) => file !== main);
      if (others.length > 0) profile += `\n(${others.length} other thread profile(s) in ${relative(ROOT, profileDir)})`;
      if (statements) profile += `\n\n${statements}`;
    }
    return {
      row: {
        label,
        database,
        kind: 'campaign',
        messages: n,
        seconds,
        startupSeconds: (firstAt - started) / 1000,
        steadyRate: (n - 1) / ((doneAt - firstAt) / 1000),
        cpuPer1000: split ? (split.server * split.seconds * 1000) / n : null,
        postgresPer1000: database === 'postgres' && split ? (split.postgres * split.seconds * 1000) / n : null,
        commitsPerMessage: commits === null ? null : commits / n,
        messageBytes,
        verified: `${ok ? 'yes' : 'NO'} (${campaign.state}, queued ${number(campaign.counts.queued)}, ${number(delivered)} DELIVERED, ${number(after.queued)} queued, ${extraAtSink} extra at the sink)`,
        ok,
      },
      split,
      problems,
      profile,
    };
  } finally {
    await store.remove();
  }
}

async function runReference(options: Options, database: Kind, sink: CountingSink, dnsAddress: string): Promise<{ row: Row; split: CpuSplit | null; problems: string[]; profile?: string }> {
  const label = `plain queued messages, ${STORE_LABEL[database]} (reference)`;
  const store = await createDeliveryStore(database, API_KEY, SENDING_DOMAIN);
  try {
    // With --profile, over the queueing and the delivery: the work the campaign does in its window.
    const sampler = options.profile && store.scratch ? sampleStatements(store.scratch.url) : null;
    const result = await runMailroom({
      root: ROOT,
      store,
      apiKey: API_KEY,
      messages: options.contacts,
      request,
      transport: 'mx',
      concurrency: options.concurrency,
      signingThreads: null,
      sink,
      dnsAddress,
      profileDir: null,
    });
    const statements = sampler ? await sampler.stop(options.contacts, 'the queueing through POST /emails/bulk and the delivery') : undefined;
    const delivery = mailroomRow(label, result, options.contacts, database);
    return {
      ...(statements ? { profile: statements } : {}),
      row: {
        label,
        database,
        kind: 'plain',
        messages: delivery.messages,
        seconds: delivery.seconds,
        startupSeconds: delivery.startupSeconds,
        steadyRate: delivery.steadyRate,
        cpuPer1000: delivery.cpuPer1000,
        postgresPer1000: delivery.postgresPer1000,
        commitsPerMessage: delivery.commitsPerMessage,
        messageBytes: result.sample.length,
        verified: delivery.verified,
        ok: delivery.verified.startsWith('yes'),
      },
      split: result.split,
      problems: result.problems,
    };
  } finally {
    await store.remove();
  }
}

function table(rows: Row[]): string {
  const header = ['target', 'messages', 'seconds', 'messages/s', 'ratio to plain', 'first→last msg/s', 'start to first msg, s', 'CPU s per 1,000', 'PostgreSQL CPU s per 1,000', 'PostgreSQL commits per message', 'message bytes', 'all delivered'];
  const cells = rows.map((row) => {
    const rate = row.messages / row.seconds;
    const plain = rows.find((other) => other.kind === 'plain' && other.database === row.database);
    return [
      row.label,
      number(row.messages),
      number(row.seconds, 2),
      number(rate),
      plain ? (rate / (plain.messages / plain.seconds)).toFixed(2) : '-',
      number(row.steadyRate),
      number(row.startupSeconds, 2),
      number(row.cpuPer1000, 2),
      number(row.postgresPer1000, 2),
      number(row.commitsPerMessage, 2),
      number(row.messageBytes),
      row.verified,
    ];
  });
  return markdownTable(header, cells);
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const command = invocation(['campaign', ...args]);
  const started = new Date();
  console.log(`campaign benchmark, ${started.toISOString()}`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  if (options.databases.includes('postgres')) {
    try {
      console.log(`postgresql: ${await serverVersion()} at ${new URL(BENCH_SERVER_URL).host}`);
    } catch (error) {
      throw new UsageError(`cannot reach PostgreSQL at ${new URL(BENCH_SERVER_URL).host} (${(error as Error).message}): start it, set MAILROOM_BENCH_DATABASE_URL, or use --database=pglite`);
    }
  }
  console.log(
    `load: ${number(options.contacts)} contacts over ${DOMAINS} domains, from ${SENDING_DOMAIN} (DKIM RSA-2048), concurrency ${options.concurrency}, transport mx, ` +
      `campaign content ${CONTENT_LABEL[options.content]}; ` +
      `reference: ${options.skipReference ? 'skipped' : `${number(options.contacts)} plain queued messages (bench delivery's measure)`}`,
  );
  if (options.build) buildDist();

  const dns = await startDnsServer(zone());
  const closeDns = onCleanup(() => dns.close());
  const sink = await startCountingSink();
  console.log(`smtp-sink on 127.0.0.1:${sink.port}, DNS server on ${dns.address}`);
  const profileRoot = join(ROOT, '.bench', 'profiles', `campaign-${started.toISOString().replace(/[:.]/g, '-')}`);

  const rows: Row[] = [];
  const notes: string[] = [];
  const profiles: string[] = [];
  let expected = 0;
  for (const database of options.databases) {
    if (!options.skipReference) {
      expected++;
      const label = `plain queued messages, ${STORE_LABEL[database]}`;
      console.log(`\n${label} (reference: bench delivery's measure)`);
      try {
        const result = await runReference(options, database, sink, dns.address);
        rows.push(result.row);
        console.log(`  ${formatSplit(result.split, 'worker')}`);
        for (const problem of result.problems) notes.push(`${label}: ${problem}`);
        if (result.profile) profiles.push(`${label}\n${result.profile}`);
      } catch (error) {
        console.error(`  failed: ${(error as Error).message}`);
        notes.push(`${label}: failed: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    expected++;
    const label = campaignLabel(options, database);
    console.log(`\n${label} (one process with the roles api and worker)`);
    try {
      const result = await runCampaign(options, database, sink, dns.address, options.profile ? join(profileRoot, database) : null);
      rows.push(result.row);
      console.log(`  ${formatSplit(result.split, 'mailroom')}`);
      for (const problem of result.problems) notes.push(`${label}: ${problem}`);
      if (result.profile) profiles.push(`${label}\n${result.profile}`);
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      notes.push(`${label}: failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  await sink.stop();
  await closeDns();

  console.log(`\nResults (${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(rows));
  console.log(
    `\nmessages/s = messages / seconds: plain, from the worker-only process's spawn (bench delivery's measure); campaign, from POST /campaigns/{id}/start\n` +
      `(the api,worker process already running) until smtp-sink counted the N-th message; first→last = the rate between the first and the last message at the sink;\n` +
      `CPU s per 1,000 = CPU time (user+system, all threads) of the Mailroom process over that time, per 1,000 messages (the campaign's process also feeds the queue).\n` +
      `message bytes: one message as Mailroom composes and DKIM-signs it (a campaign's also gets its unsubscribe link and List-Unsubscribe headers at delivery).`,
  );
  if (notes.length > 0) console.log(`\nnotes:\n${notes.map((note) => `  ${note}`).join('\n')}`);

  console.log('\ntargets:');
  for (const row of rows.filter((entry) => entry.kind === 'campaign')) {
    const plain = rows.find((other) => other.kind === 'plain' && other.database === row.database);
    if (!plain) {
      console.log(`  -        campaign at least ${TARGET_RATIO.toFixed(1)}x plain delivery: no reference (${row.label})`);
      continue;
    }
    const ratio = row.messages / row.seconds / (plain.messages / plain.seconds);
    console.log(
      `  ${ratio >= TARGET_RATIO ? 'met    ' : 'NOT met'}  campaign at least ${TARGET_RATIO.toFixed(1)}x plain delivery: ${ratio.toFixed(2)}x ` +
        `(${number(row.messages / row.seconds)}/s against ${number(plain.messages / plain.seconds)}/s; first→last ${(row.steadyRate / plain.steadyRate).toFixed(2)}x), ${STORE_LABEL[row.database]}`,
    );
  }
  for (const row of rows) console.log(`  CPU: ${number(row.cpuPer1000, 2)} s per 1,000 messages (${row.label})`);
  for (const profile of profiles) console.log(`\n${profile}`);
  if (options.profile) console.log(`\nprofiles kept in ${relative(ROOT, profileRoot)}/ (open them in Chrome DevTools or speedscope)`);
  return rows.length < expected || rows.some((row) => !row.ok) ? 1 : 0;
}
