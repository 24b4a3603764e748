/**
 * contacts-import: a CSV of N contacts (1,000,000 by default) imported into a list through the
 * HTTP API (`POST /lists/{id}/imports`, then polling the job until it is finished), on
 * PostgreSQL and on PGlite, each into a fresh store; beside it, as the reference, `psql \copy`
 * of the same file into a comparable table (an identity key and a unique address, as contacts
 * have) on the same PostgreSQL server in the same run. Rows/s counts from the POST to the job's
 * end; the target is at least 0.3 of \copy's.
 *
 * After each import the job's counts must say every row was added, and the list must hold them.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBenchOptions, positiveInteger, targetList } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { cpuSnapshot, cpuSplit, formatSplit, type CpuSplit } from './lib/cpu.js';
import { MailroomApi, STORE_LABELS, type StoreKind } from './lib/mailroomApi.js';
import { createScratchDatabase, describeBenchServer } from './lib/postgres.js';
import { buildDist, printPreamble } from './lib/preamble.js';
import { number } from './lib/smtpReport.js';
import { markdownTable } from './lib/table.js';

export const description = 'POST /lists/{id}/imports of a 1,000,000-row CSV to the job\'s end, on PostgreSQL and PGlite, against psql \\copy of the same file';

const TARGET_RATIO = 0.3;
const TARGETS = ['copy', 'postgres', 'pglite'] as const;
type TargetName = (typeof TARGETS)[number];
const LABELS: Record<TargetName, string> = {
  copy: 'psql \\copy into a comparable table (reference)',
  postgres: `Mailroom import, ${STORE_LABELS.postgres}`,
  pglite: `Mailroom import, ${STORE_LABELS.pglite}`,
};

const USAGE = `npm run bench -- contacts-import [--rows=N] [--targets=copy,postgres,pglite]

  --rows     rows of the generated CSV (default 1000000)
  --targets  which to run, comma-separated (default all three; copy and postgres need PostgreSQL)

The PostgreSQL server is postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides);
each run creates a database mr_bench_<random> and drops it afterwards.`;

interface Outcome {
  target: TargetName;
  rows: number;
  seconds?: number;
  /** Seconds from the POST to its 202: the body spooled to disk and its header checked. */
  acceptSeconds?: number;
  cpu?: CpuSplit | null;
  problems: string[];
}

/** email,name,city,plan: an address on one of 1,000 domains, a name, two attributes. */
function generateCsv(rows: number, file: string): void {
  const started = Date.now();
  process.stdout.write(`generating ${number(rows)} rows ... `);
  const parts: string[] = ['email,name,city,plan\n'];
  let chunks = 0;
  writeFileSync(file, '');
  for (let i = 0; i < rows; i++) {
    parts.push(`contact${i}@domain${i % 1000}.example,Contact ${i},City ${i % 97},${i % 3 === 0 ? 'pro' : 'free'}\n`);
    if (parts.length >= 50_000) {
      writeFileSync(file, parts.join(''), { flag: 'a' });
      parts.length = 0;
      chunks++;
    }
  }
  writeFileSync(file, parts.join(''), { flag: 'a' });
  console.log(`${(statSync(file).size / 1024 / 1024).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s (${chunks + 1} writes)`);
}

async function measureCopy(file: string, rows: number): Promise<Outcome> {
  const outcome: Outcome = { target: 'copy', rows, problems: [] };
  const database = await createScratchDatabase();
  try {
    const psql = (args: string[]) => spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', database.url, ...args], { encoding: 'utf8' });
    const created = psql(['-c', 'CREATE TABLE contacts_copy (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, name text, city text, plan text)']);
    if (created.status !== 0) throw new Error(`psql: ${created.stderr}`);
    const started = performance.now();
    const copied = psql(['-c', `\\copy contacts_copy (email, name, city, plan) FROM '${file}' WITH (FORMAT csv, HEADER true)`]);
    outcome.seconds = (performance.now() - started) / 1000;
    if (copied.status !== 0) throw new Error(`psql \\copy: ${copied.stderr}`);
    const counted = psql(['-At', '-c', 'SELECT count(*) FROM contacts_copy']);
    if (Number(counted.stdout.trim()) !== rows) outcome.problems.push(`\\copy stored ${counted.stdout.trim()} rows, not ${rows}`);
    console.log(`  ${number(rows)} rows in ${outcome.seconds.toFixed(2)} s: ${number(rows / outcome.seconds)} rows/s`);
  } finally {
    await database.drop();
  }
  return outcome;
}

/** POSTs the file as the body, streamed from disk; the answer's status and text. */
function postFile(api: MailroomApi, path: string, file: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'text/csv', 'content-length': String(statSync(file).size) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

interface Job {
  id: string;
  state: string;
  rowsRead: number;
  added: number;
  refused: number;
  error: string | null;
}

async function measureImport(kind: StoreKind, file: string, rows: number): Promise<Outcome> {
  const outcome: Outcome = { target: kind, rows, problems: [] };
  const api = await MailroomApi.start({ kind });
  try {
    console.log(`  ready after ${(api.startupMs / 1000).toFixed(1)} s`);
    const { data: list } = await api.request<{ data: { id: string } }>('POST', '/lists', { name: 'bench' });
    const before = cpuSnapshot();
    const started = performance.now();
    const posted = await postFile(api, `/lists/${list.id}/imports`, file);
    outcome.acceptSeconds = (performance.now() - started) / 1000;
    if (posted.status !== 202) throw new Error(`POST answered ${posted.status}: ${posted.text.slice(0, 300)}`);
    const { data: accepted } = JSON.parse(posted.text) as { data: Job };
    let job = accepted;
    let lastReport = performance.now();
    while (job.state === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = (await api.request<{ data: Job }>('GET', `/lists/${list.id}/imports/${accepted.id}`)).data;
      if (performance.now() - lastReport > 5_000) {
        lastReport = performance.now();
        console.log(`  ... ${number(job.rowsRead)} rows after ${((lastReport - started) / 1000).toFixed(0)} s`);
      }
    }
    outcome.seconds = (performance.now() - started) / 1000;
    // On PGlite the database is the server process itself: any PostgreSQL process is someone else's.
    const pids = new Set(await api.backends());
    outcome.cpu = cpuSplit(before, cpuSnapshot(), api.child.process.pid, pids);
    console.log(`  ${job.state}: ${number(job.added)} added, ${number(job.refused)} refused of ${number(job.rowsRead)} in ${outcome.seconds.toFixed(2)} s (202 after ${outcome.acceptSeconds.toFixed(2)} s): ${number(rows / outcome.seconds)} rows/s`);
    console.log(`  ${formatSplit(outcome.cpu, 'mailroom')}`);
    if (job.state !== 'finished' || job.added !== rows) outcome.problems.push(`the job ended ${job.state} with ${job.added} of ${rows} rows added${job.error ? `: ${job.error}` : ''}`);
    const { data: detail } = await api.request<{ data: { counts: { total: number } } }>('GET', `/lists/${list.id}`);
    if (detail.counts.total !== rows) outcome.problems.push(`the list holds ${detail.counts.total} members, not ${rows}`);
    outcome.problems.push(...(await api.stop()));
  } finally {
    await api.close();
  }
  return outcome;
}

function table(outcomes: Outcome[]): string {
  const copy = outcomes.find((outcome) => outcome.target === 'copy' && outcome.seconds);
  const header = ['target', 'rows', 'seconds', 'rows/s', 'ratio to \\copy', '202 after s', 'server CPU µs/row', 'PostgreSQL CPU µs/row', 'other processes, cores'];
  const perRow = (cores: number, outcome: Outcome) => number((cores * outcome.cpu!.seconds * 1e6) / outcome.rows, 1);
  const rows = outcomes.map((outcome) => [
    LABELS[outcome.target],
    number(outcome.rows),
    outcome.seconds ? outcome.seconds.toFixed(2) : 'failed',
    outcome.seconds ? number(outcome.rows / outcome.seconds) : '-',
    outcome.seconds && copy?.seconds ? (copy.seconds / outcome.seconds).toFixed(2) : '-',
    outcome.acceptSeconds !== undefined ? outcome.acceptSeconds.toFixed(2) : '-',
    outcome.cpu ? perRow(outcome.cpu.server, outcome) : '-',
    outcome.cpu && outcome.target === 'postgres' ? perRow(outcome.cpu.postgres, outcome) : '-',
    outcome.cpu ? outcome.cpu.other.toFixed(2) : '-',
  ]);
  return markdownTable(header, rows);
}

export async function run(args: string[]): Promise<number> {
  const values = parseBenchOptions(args, { rows: { type: 'string' }, targets: { type: 'string' } }, USAGE);
  if (!values) return 0;
  const rows = positiveInteger('rows', values.rows, 1_000_000, 20_000_000);
  const targets = targetList(values.targets, TARGETS);
  const { command, started } = printPreamble('contacts-import', args);
  if (targets.some((target) => target !== 'pglite')) console.log(await describeBenchServer('--targets=pglite'));
  if (targets.some((target) => target !== 'copy')) buildDist();

  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-contacts-'));
  const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const outcomes: Outcome[] = [];
  try {
    const file = join(dir, 'contacts.csv');
    generateCsv(rows, file);
    for (const target of targets) {
      console.log(`\n${LABELS[target]}`);
      try {
        outcomes.push(target === 'copy' ? await measureCopy(file, rows) : await measureImport(target, file, rows));
      } catch (error) {
        console.error(`  failed: ${(error as Error).message}`);
        outcomes.push({ target, rows, problems: [`failed: ${(error as Error).message.split('\n')[0]}`] });
      }
    }
  } finally {
    await removeDir();
  }

  console.log(`\nResults (${number(rows)} rows, ${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(outcomes));
  console.log(
    '\nseconds: from the POST to the job\'s end (for \\copy, the psql command); 202 after: the body spooled and its header checked;\n' +
      'CPU µs/row: of the server process (PGlite runs inside it) and of the backends of its database, over the import;\n' +
      'other processes: cores used on average by everything else on the machine meanwhile.',
  );
  const problems = outcomes.filter((outcome) => outcome.problems.length > 0);
  if (problems.length > 0) {
    console.log('\nnotes:');
    for (const outcome of problems) for (const problem of outcome.problems) console.log(`  ${LABELS[outcome.target]}: ${problem}`);
  }
  const copy = outcomes.find((outcome) => outcome.target === 'copy')?.seconds;
  const postgres = outcomes.find((outcome) => outcome.target === 'postgres')?.seconds;
  if (copy && postgres) {
    const ratio = copy / postgres;
    console.log(`\ntarget (PostgreSQL):\n  ${ratio >= TARGET_RATIO ? 'PASS' : 'MISS'}  at least ${TARGET_RATIO} of \\copy's rows/s: ${ratio.toFixed(2)}`);
  }
  return outcomes.some((outcome) => !outcome.seconds || outcome.problems.some((problem) => !problem.startsWith('mailroom logged'))) ? 1 : 0;
}
