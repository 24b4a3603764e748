/**
 * policy: what the send pipeline's policy and template steps cost on the HTTP hot path. Each
 * variant is its own Mailroom run (api role, a fresh store), on PostgreSQL and on PGlite, under
 * the load of the ingest benchmark (autocannon, 64 connections, closed loop); the reference,
 * measured in the same run before each database's variants, is the bare Fastify echo route
 * answering the seed request.
 *
 *   plain          the seed request, with nothing configured (the policy step present but idle)
 *   ratelimit      the same, with per-second and per-day limits that never refuse: every message
 *                  takes from the account's counter row (a group-committed UPDATE)
 *   template       POST /emails naming a template (subject, text and HTML with 3 placeholders,
 *                  one of them defaulted) with the request's own placeholders
 *   attachment     the seed request with a 20 KB PDF, whose content is sniffed (file-type)
 *   bulk-template  POST /emails/bulk: defaults {from, templateId}, 100 messages {to, placeholders},
 *                  8 connections; counted in messages
 *
 * Every run is verified after the server stopped: the rows in `messages` must equal the
 * messages acknowledged (2xx answers; for bulk, the results with `data`), and for ratelimit no
 * 429 may have been answered and the counter's day must hold exactly the stored messages.
 */
import { randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import { HTTP_LOAD_OPTIONS, httpLoadValues, parseBenchOptions, positiveInteger, targetList } from './lib/args.js';
import { perRequestUs } from './lib/cpu.js';
import type { LoadOptions, LoadResult } from './lib/load.js';
import { MailroomApi, SEED_REQUEST, STORE_LABELS, type StoreKind } from './lib/mailroomApi.js';
import { measureEchoRoute, measurementProblems, profileReport, warmAndMeasure, type Measured } from './lib/measure.js';
import { describeBenchServer } from './lib/postgres.js';
import { buildDist, printPreamble, ROOT } from './lib/preamble.js';
import { number } from './lib/smtpReport.js';
import { markdownTable } from './lib/table.js';

export const description = 'what the policy and template steps cost on POST /emails (rate limit, template, attachment sniff, bulk template): PostgreSQL and PGlite against the Fastify echo route';

const TARGETS = ['echo', 'postgres', 'pglite'] as const;
const VARIANTS = ['plain', 'ratelimit', 'template', 'attachment', 'bulk-template'] as const;
type VariantName = (typeof VARIANTS)[number];

const USAGE = `npm run bench -- policy [--duration=SECONDS] [--warmup=SECONDS] [--connections=N] [--bulk-connections=N] [--bulk-size=N]
                          [--targets=echo,postgres,pglite] [--variants=${VARIANTS.join(',')}] [--profile]

  --duration          measured seconds per variant (default 15)
  --warmup            warm-up seconds before each measured run (default 2)
  --connections       concurrent connections of the single-message variants and the echo route (default 64)
  --bulk-connections  concurrent connections of bulk-template (default 8)
  --bulk-size         messages per bulk request (default 100, at most 1000)
  --targets           the echo reference (measured before each database's variants) and the databases
  --variants          which variants to run, comma-separated (default all)
  --profile           run the servers under node --cpu-prof and print their hottest functions during
                      the measured run (profiling slows them down: do not quote these rates)

The PostgreSQL server is postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides);
each Mailroom run creates a database mr_bench_<random> (or a PGlite directory) and removes it afterwards.`;

interface Options {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  bulkConnections: number;
  bulkSize: number;
  targets: (typeof TARGETS)[number][];
  variants: VariantName[];
  profile: boolean;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    ...HTTP_LOAD_OPTIONS, 'bulk-connections': { type: 'string' }, 'bulk-size': { type: 'string' }, variants: { type: 'string' }, profile: { type: 'boolean' },
  }, USAGE);
  if (!values) return null;
  return {
    ...httpLoadValues(values, 15),
    bulkConnections: positiveInteger('bulk-connections', values['bulk-connections'], 8, 10_000),
    bulkSize: positiveInteger('bulk-size', values['bulk-size'], 100, 1000),
    targets: targetList(values.targets, TARGETS),
    variants: targetList(values.variants, VARIANTS, 'variants'),
    profile: values.profile ?? false,
  };
}

// ---- the variants ----

/** Three placeholders in each part; `arrival` has a default, the request gives the other two. */
const TEMPLATE = {
  name: 'order-shipped',
  subject: 'Your order {{orderId}} has shipped, {{name}}',
  text: 'Hello {{name}},\n\nyour order {{orderId}} left our warehouse today and arrives {{arrival}}.\n\nThe EliPackage team',
  html: '<p>Hello {{name}},</p><p>your order <b>{{orderId}}</b> left our warehouse today and arrives {{arrival}}.</p><p>The EliPackage team</p>',
  defaults: { arrival: 'within three days' },
};
/** How a stored message rendered from TEMPLATE begins its subject. */
const RENDERED_SUBJECT = 'Your order %';
/**
 * Distinct requests each connection sends in turn (each with its own placeholders). autocannon
 * builds every one for every connection as the run starts, so not thousands: 1,000 would cost
 * the load generator most of a second of CPU at the start of each run.
 */
const TEMPLATE_BODIES = 100;
const BULK_BODIES = 10;
const ATTACHMENT_BYTES = 20 * 1024;

const placeholders = (n: number) => ({ name: `Customer ${n}`, orderId: `A-${100_000 + n}` });

/**
 * A PDF of about `size` bytes: catalog, pages, one page, and a binary stream object padding it
 * out, with a correct cross-reference table.
 */
function pdf(size: number): Buffer {
  const stream = randomBytes(Math.max(0, size - 600));
  const objects = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>'),
    Buffer.concat([Buffer.from(`<< /Length ${stream.length} >>\nstream\n`), stream, Buffer.from('\nendstream')]),
  ];
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let at = parts[0]!.length;
  objects.forEach((body, index) => {
    const object = Buffer.concat([Buffer.from(`${index + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(at);
    parts.push(object);
    at += object.length;
  });
  const xref = ['xref', `0 ${objects.length + 1}`, '0000000000 65535 f ', ...offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n `)].join('\n');
  parts.push(Buffer.from(`${xref}\ntrailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`));
  return Buffer.concat(parts);
}

interface VariantLoad {
  path: '/emails' | '/emails/bulk';
  bodies: string[];
  connections: number;
}

interface Variant {
  what: string;
  /** Settings of the Mailroom process. */
  env: Record<string, string>;
  bulk: boolean;
  /** Whether its stored messages come from TEMPLATE. */
  templated: boolean;
  /** What it sends, made once the server is up (a template is created first where needed). */
  prepare(api: MailroomApi, options: Options): Promise<VariantLoad>;
}

async function createTemplate(api: MailroomApi): Promise<string> {
  const created = await api.request<{ data: { id: string } }>('POST', '/templates', TEMPLATE);
  return created.data.id;
}

const { text: _text, subject: _subject, ...SEED_WITHOUT_CONTENT } = SEED_REQUEST;

const VARIANT: Record<VariantName, Variant> = {
  plain: {
    what: 'the seed request; no limit, template or attachment',
    env: {},
    bulk: false,
    templated: false,
    prepare: async (_api, options) => ({ path: '/emails', bodies: [JSON.stringify(SEED_REQUEST)], connections: options.connections }),
  },
  ratelimit: {
    what: 'the seed request; MAILROOM_RATE_LIMIT_PER_SECOND=1000000, MAILROOM_RATE_LIMIT_PER_DAY=2000000000 (never refuses)',
    env: { MAILROOM_RATE_LIMIT_PER_SECOND: '1000000', MAILROOM_RATE_LIMIT_PER_DAY: '2000000000' },
    bulk: false,
    templated: false,
    prepare: async (_api, options) => ({ path: '/emails', bodies: [JSON.stringify(SEED_REQUEST)], connections: options.connections }),
  },
  template: {
    what: `the seed request with templateId and placeholders instead of subject and text (${TEMPLATE_BODIES} different placeholder sets in turn)`,
    env: {},
    bulk: false,
    templated: true,
    prepare: async (api, options) => {
      const templateId = await createTemplate(api);
      const bodies = Array.from({ length: TEMPLATE_BODIES }, (_, n) => JSON.stringify({ ...SEED_WITHOUT_CONTENT, templateId, placeholders: placeholders(n) }));
      return { path: '/emails', bodies, connections: options.connections };
    },
  },
  attachment: {
    what: `the seed request with a ${ATTACHMENT_BYTES / 1024} KB PDF attachment (sniffed by file-type)`,
    env: {},
    bulk: false,
    templated: false,
    prepare: async (_api, options) => {
      const attachments = [{ filename: 'invoice.pdf', content: pdf(ATTACHMENT_BYTES).toString('base64') }];
      return { path: '/emails', bodies: [JSON.stringify({ ...SEED_REQUEST, attachments })], connections: options.connections };
    },
  },
  'bulk-template': {
    what: 'POST /emails/bulk, defaults {from, templateId}, messages [{to, placeholders}]',
    env: {},
    bulk: true,
    templated: true,
    prepare: async (api, options) => {
      const templateId = await createTemplate(api);
      const bodies = Array.from({ length: BULK_BODIES }, (_, body) => {
        const messages = Array.from({ length: options.bulkSize }, (_, index) => {
          const n = body * options.bulkSize + index;
          return { to: `customer${n}@example.com`, placeholders: placeholders(n) };
        });
        return JSON.stringify({ defaults: { from: SEED_REQUEST.from, templateId }, messages });
      });
      return { path: '/emails/bulk', bodies, connections: options.bulkConnections };
    },
  },
};

// ---- one run ----

interface Outcome {
  variant: VariantName | 'echo';
  measured?: Measured;
  /** Messages acknowledged per 2xx answer (1, or a bulk request's `data` results). */
  perAnswer: number;
  /** Messages acknowledged over warm-up and measured run, and the rows stored. */
  acknowledged?: number;
  stored?: number;
  /** PostgreSQL transactions committed in the scratch database while the server ran. */
  commits?: number | null;
  /** What was checked beyond the count, for the notes. */
  checks: string[];
  /** Verification failures: the benchmark fails. */
  failures: string[];
  problems: string[];
  profile?: string;
}

/** The bulk answers: how many results carried `data` (stored) and how many an `error`. */
class BulkTally {
  answers = 0;
  data = 0;
  refused = 0;
  firstRefusal: string | null = null;

  readonly onBody = (status: number, body: string) => {
    if (status < 200 || status > 299) return;
    this.answers++;
    for (const result of (JSON.parse(body) as { data: { data?: unknown; error?: unknown }[] }).data) {
      if (result.data) this.data++;
      else {
        this.refused++;
        this.firstRefusal ??= JSON.stringify(result.error).slice(0, 300);
      }
    }
  };
}

/** Messages acknowledged per measured unit: the in-window rate and CPU are per message. */
const messages = (outcome: Outcome, answers: number) => answers * outcome.perAnswer;

async function measureVariant(kind: StoreKind, name: VariantName, options: Options, profileRoot: string): Promise<Outcome> {
  const variant = VARIANT[name];
  const outcome: Outcome = { variant: name, perAnswer: 1, checks: [], failures: [], problems: [] };
  const profileDir = options.profile ? join(profileRoot, kind, name) : null;
  console.log(`\n${STORE_LABELS[kind]}, ${name}: ${variant.what}`);
  let api: MailroomApi | null = null;
  try {
    api = await MailroomApi.start({ kind, env: variant.env, profileDir });
    console.log(`  ready after ${(api.startupMs / 1000).toFixed(1)} s`);
    const spec = await variant.prepare(api, options);
    const tally = variant.bulk ? new BulkTally() : null;
    const perAnswer = () => (tally ? tally.data / Math.max(1, tally.answers) : 1);
    const common: Omit<LoadOptions, 'seconds'> = {
      url: `${api.base}${spec.path}`, method: 'POST', headers: api.headers, connections: spec.connections,
      ...(spec.bodies.length === 1 ? { body: spec.bodies[0]! } : { bodies: spec.bodies }),
      ...(tally ? { onBody: tally.onBody } : {}),
    };
    const commitsBefore = await api.commits();
    const target = api.database ? { postgresBackends: () => api!.backends() } : {};
    const measured = await warmAndMeasure(common, options, { server: api.child, name: 'mailroom', units: (result: LoadResult) => result.ok * perAnswer(), ...target });
    outcome.measured = measured;
    outcome.perAnswer = perAnswer();
    outcome.problems.push(...measurementProblems(measured), ...(await api.stop()));
    // Backends report their commits at the latest when they exit: after the stop, the count is complete.
    const commitsAfter = await api.commits();
    outcome.commits = commitsBefore === null || commitsAfter === null ? null : commitsAfter - commitsBefore;

    const [counts] = await api.query<{ messages: number; rendered: number }>(
      `SELECT count(*)::int AS messages, count(*) FILTER (WHERE subject LIKE '${RENDERED_SUBJECT}')::int AS rendered FROM messages`,
    );
    outcome.stored = counts?.messages ?? 0;
    outcome.acknowledged = tally ? tally.data : measured.warmup.ok + measured.result.ok;
    const verdict = outcome.stored === outcome.acknowledged ? 'OK' : 'MISMATCH';
    console.log(`  stored: ${number(outcome.acknowledged)} messages acknowledged (${tally ? `data results of ${number(tally.answers)} bulk answers` : '2xx'}), ${number(outcome.stored)} rows in messages: ${verdict}`);
    if (verdict !== 'OK') outcome.failures.push(`${number(outcome.acknowledged)} messages acknowledged but ${number(outcome.stored)} rows stored`);
    if (tally && tally.refused > 0) outcome.failures.push(`${number(tally.refused)} bulk messages refused, e.g. ${tally.firstRefusal}`);
    if (variant.templated) {
      outcome.checks.push(`${number(counts?.rendered)} of ${number(outcome.stored)} stored subjects rendered from the template`);
      if (counts?.rendered !== outcome.stored) outcome.failures.push(`only ${number(counts?.rendered)} of ${number(outcome.stored)} stored messages have the template's subject`);
    }
    if (name === 'ratelimit') await checkRateUsage(api, outcome, measured);
    if (outcome.commits !== null && outcome.commits !== undefined) {
      console.log(`  postgresql: ${number(outcome.commits)} transactions committed for ${number(outcome.stored)} messages (${(outcome.commits / Math.max(1, outcome.stored)).toFixed(3)} per message)`);
    }
    if (profileDir) outcome.profile = profileReport(profileDir, measured.result, messages(outcome, measured.result.okInWindow));
  } catch (error) {
    console.error(`  failed: ${(error as Error).message}`);
    outcome.failures.push(`failed: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    await api?.close();
  }
  return outcome;
}

/** ratelimit: nothing refused, and the counter's day holds exactly the messages stored. */
async function checkRateUsage(api: MailroomApi, outcome: Outcome, measured: Measured): Promise<void> {
  const refused = (measured.warmup.statusCodes['429'] ?? 0) + (measured.result.statusCodes['429'] ?? 0);
  if (refused > 0) outcome.failures.push(`${number(refused)} requests answered 429 by limits meant never to refuse`);
  const rows = await api.query<{ second_used: number; day_used: number }>('SELECT second_used, day_used FROM rate_usage');
  const dayUsed = rows.reduce((sum, row) => sum + Number(row.day_used), 0);
  const line = `rate_usage: ${rows.length} row(s), day_used ${number(dayUsed)} (second_used ${rows.map((row) => row.second_used).join(', ')}) against ${number(outcome.stored)} stored, ${refused} answered 429`;
  console.log(`  ${line}: ${dayUsed === outcome.stored && refused === 0 ? 'OK' : 'MISMATCH'}`);
  outcome.checks.push(line);
  // A run across midnight UTC would start a new day's window and count less: said, not hidden.
  if (dayUsed !== outcome.stored) outcome.failures.push(`rate_usage.day_used is ${number(dayUsed)} but ${number(outcome.stored)} messages were stored`);
}

async function measureEcho(options: Options, profileDir: string | null): Promise<Outcome> {
  console.log('\nFastify echo route (reference): the seed request');
  const outcome: Outcome = { variant: 'echo', perAnswer: 1, checks: [], failures: [], problems: [] };
  try {
    const measured = await measureEchoRoute(
      { path: '/emails', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SEED_REQUEST), connections: options.connections },
      options,
      profileDir,
    );
    outcome.measured = measured;
    outcome.profile = measured.profile;
    outcome.problems.push(...measurementProblems(measured));
  } catch (error) {
    console.error(`  failed: ${(error as Error).message}`);
    outcome.failures.push(`failed: ${(error as Error).message.split('\n')[0]}`);
  }
  return outcome;
}

// ---- the report ----

function table(kind: StoreKind | null, outcomes: Outcome[]): string {
  const echo = outcomes.find((outcome) => outcome.variant === 'echo')?.measured?.result;
  const plain = outcomes.find((outcome) => outcome.variant === 'plain');
  const rateOf = (outcome: Outcome | undefined) => (outcome?.measured ? messages(outcome, outcome.measured.result.okPerSecond) : undefined);
  const cpuOf = (outcome: Outcome | undefined, part: 'server' | 'postgres') => {
    const cpu = outcome?.measured?.cpu;
    return cpu && outcome.measured ? perRequestUs(cpu[part], cpu, messages(outcome, outcome.measured.result.ok)) : undefined;
  };
  const postgres = kind === 'postgres';
  const header = [
    'variant', 'requests/s', 'messages/s', 'p50 ms', 'p99 ms', 'server CPU µs/msg', ...(postgres ? ['PostgreSQL CPU µs/msg', 'commits/msg'] : []),
    'ratio to echo', 'rate vs plain', 'stored = acknowledged',
  ];
  const rows = outcomes.map((outcome) => {
    const r = outcome.measured?.result;
    const rate = rateOf(outcome);
    const plainRate = rateOf(plain);
    return [
      outcome.variant === 'echo' ? 'echo route (reference)' : outcome.variant,
      r ? number(r.okPerSecond) : 'failed',
      outcome.variant === 'echo' ? '-' : number(rate),
      number(r?.latency.p50, 1),
      number(r?.latency.p99, 1),
      number(cpuOf(outcome, 'server')),
      ...(postgres ? [outcome.variant === 'echo' ? '-' : number(cpuOf(outcome, 'postgres')), outcome.commits ? (outcome.commits / Math.max(1, outcome.stored ?? 0)).toFixed(3) : '-'] : []),
      rate !== undefined && echo && echo.okPerSecond > 0 ? (rate / echo.okPerSecond).toFixed(2) : '-',
      rate !== undefined && plainRate && outcome.variant !== 'echo' ? (rate / plainRate).toFixed(2) : '-',
      outcome.stored === undefined ? (outcome.variant === 'echo' ? 'n/a' : '-') : `${outcome.failures.length === 0 ? 'yes' : 'NO'} (${number(outcome.stored)})`,
    ];
  });
  return markdownTable(header, rows);
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const { command, started } = printPreamble('policy', args);
  if (options.targets.includes('postgres')) console.log(await describeBenchServer('--targets=echo,pglite'));
  console.log(
    `load: autocannon, pipelining 1, ${options.warmupSeconds} s warm-up + ${options.seconds} s measured per run; ${options.connections} connections ` +
      `(bulk-template: ${options.bulkConnections} connections, ${options.bulkSize} messages per request); variants: ${options.variants.join(', ')}`,
  );
  const stores = options.targets.filter((target): target is StoreKind => target !== 'echo');
  if (stores.length > 0) buildDist();

  const profileRoot = join(ROOT, '.bench', 'profiles', `policy-${started.toISOString().replace(/[:.]/g, '-')}`);
  const results: { kind: StoreKind | null; outcomes: Outcome[] }[] = [];
  for (const kind of stores.length > 0 ? stores : [null]) {
    const outcomes: Outcome[] = [];
    if (options.targets.includes('echo')) outcomes.push(await measureEcho(options, options.profile ? join(profileRoot, kind ?? '', 'echo') : null));
    if (kind) for (const variant of options.variants) outcomes.push(await measureVariant(kind, variant, options, profileRoot));
    results.push({ kind, outcomes });
  }

  const day = started.toISOString().slice(0, 10);
  for (const { kind, outcomes } of results) {
    console.log(`\n${kind ? `Mailroom on ${STORE_LABELS[kind]}` : 'Echo route'} (${options.seconds} s per run, ${day}; ${command})\n`);
    console.log(table(kind, outcomes));
  }
  console.log(
    '\nrequests/s counts 2xx answers in the measured window; messages/s the messages they acknowledged (bulk: the `data` results);\n' +
      'latencies are those of 2xx answers (a bulk answer covers all its messages); server CPU µs/msg = CPU time of the Mailroom process\n' +
      '(for the reference: the echo server) per message acknowledged during the measured run; PostgreSQL CPU: the backends of its database\n' +
      "(a shared server's other sessions not counted); ratio to echo = messages/s divided by the echo route's requests/s measured before\n" +
      "that database's variants; rate vs plain = messages/s divided by plain's.",
  );

  const noted = results.flatMap(({ kind, outcomes }) => outcomes.map((outcome) => ({ kind, outcome })));
  const notes = noted.flatMap(({ kind, outcome }) =>
    [...new Set([...outcome.checks, ...outcome.problems, ...outcome.failures])].map((line) => `  ${kind ? STORE_LABELS[kind] : ''} ${outcome.variant}: ${line}`),
  );
  if (notes.length > 0) console.log(`\nnotes:\n${notes.join('\n')}`);
  for (const { kind, outcome } of noted) if (outcome.profile) console.log(`\n${kind ? STORE_LABELS[kind] : ''} ${outcome.variant}: ${outcome.profile}`);
  if (options.profile) console.log(`\nprofiles kept in ${relative(ROOT, profileRoot)}/ (open them in Chrome DevTools or speedscope)`);

  const failed = noted.filter(({ outcome }) => outcome.failures.length > 0 || !outcome.measured);
  if (failed.length > 0) {
    console.error(`\nFAILED: ${failed.map(({ kind, outcome }) => `${kind ? STORE_LABELS[kind] : ''} ${outcome.variant}`.trim()).join(', ')} (see the notes)`);
    return 1;
  }
  return 0;
}
