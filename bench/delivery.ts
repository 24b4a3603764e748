/**
 * `npm run bench -- delivery [--messages N] [--database pglite|postgres|both] [--skip-postfix]`
 *
 * Queues N (default 50,000) messages of about 1 KB to recipients spread over 100 domains, then
 * times their delivery by the mx transport (MX look-ups against a DNS server started here, DKIM
 * RSA-2048 on every message) to postfix's `smtp-sink` on loopback. In the same run a private
 * Postfix instance relays the same number of 1 KB messages, queued the same way beforehand, to
 * the same sink. Prints messages/s for both and the ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireAccount } from '../src/accounts/accounts.js';
import { startMailroom } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { addDomain } from '../src/domains/domains.js';
import { createLogger } from '../src/shared/log.js';
import { startDnsServer, type Zone } from '../test/helpers/dnsServer.js';
import { UsageError, invocation, positiveInteger } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { startPostfix } from './lib/postfix.js';
import { createScratchDatabase } from './lib/postgres.js';
import { startCountingSink, waitForCount } from './lib/smtpSink.js';

export const description = 'mx delivery with DKIM to smtp-sink vs Postfix relaying to it (messages/s)';

const KEY = 'mr_bench_delivery_key_0123456789abcdef';
const DOMAINS = 100;
const BODY = 'Your order has shipped. '.repeat(38); // about 900 bytes of text

interface Measured {
  label: string;
  messages: number;
  seconds: number;
  cpuSeconds: number | null;
}

export async function run(args: string[]): Promise<number> {
  const options = parse(args);
  console.log(`# ${invocation(['delivery', ...args])}`);
  const sink = await startCountingSink();
  const results: Measured[] = [];
  for (const database of options.databases) results.push(await measureMailroom(options.messages, database, sink));
  if (!options.skipPostfix) results.push(await measurePostfix(options.messages, sink));
  await sink.stop();

  const postfix = results.find((result) => result.label.startsWith('Postfix'));
  console.log('\n| target | messages | seconds | messages/s | CPU ms per 1,000 | ratio to Postfix |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const result of results) {
    const rate = result.messages / result.seconds;
    const ratio = postfix ? (rate / (postfix.messages / postfix.seconds)).toFixed(2) : 'n/a';
    const cpu = result.cpuSeconds === null ? 'n/a' : ((result.cpuSeconds * 1000) / (result.messages / 1000)).toFixed(0);
    console.log(`| ${result.label} | ${result.messages} | ${result.seconds.toFixed(2)} | ${rate.toFixed(0)} | ${cpu} | ${ratio} |`);
  }
  for (const result of results.filter((entry) => entry !== postfix)) {
    const rate = result.messages / result.seconds;
    const versus = postfix ? rate >= postfix.messages / postfix.seconds : null;
    console.log(`${result.label}: ≥ 2,000/s ${rate >= 2000 ? 'met' : 'NOT met'}; ≥ Postfix ${versus === null ? 'not measured' : versus ? 'met' : 'NOT met'}`);
  }
  return 0;
}

function parse(args: string[]) {
  let messages = 50_000;
  let databases: ('pglite' | 'postgres')[] = ['postgres'];
  let skipPostfix = false;
  for (const arg of args) {
    const [name, value] = arg.replace(/^--/, '').split('=');
    if (name === 'messages') messages = positiveInteger('messages', value, 50_000, 1_000_000);
    else if (name === 'database' && (value === 'pglite' || value === 'postgres')) databases = [value];
    else if (name === 'database' && value === 'both') databases = ['postgres', 'pglite'];
    else if (name === 'skip-postfix') skipPostfix = true;
    else throw new UsageError(`unknown option ${arg}: --messages=N, --database=pglite|postgres|both, --skip-postfix`);
  }
  return { messages: Math.ceil(messages / 500) * 500, databases, skipPostfix };
}

function zone(): Zone {
  const entries: Zone = {};
  for (let index = 0; index < DOMAINS; index++) {
    entries[`d${index}.bench.test`] = { MX: [{ exchange: `mx.d${index}.bench.test`, priority: 10 }] };
    entries[`mx.d${index}.bench.test`] = { A: ['127.0.0.1'] };
  }
  return entries;
}

async function measureMailroom(messages: number, database: 'pglite' | 'postgres', sink: Awaited<ReturnType<typeof startCountingSink>>): Promise<Measured> {
  const dns = await startDnsServer(zone());
  const dataDir = mkdtempSync(join(tmpdir(), 'mailroom-bench-delivery-'));
  const removeDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const scratch = database === 'postgres' ? await createScratchDatabase() : null;
  const env = {
    MAILROOM_DATA_DIR: dataDir,
    MAILROOM_DATABASE_URL: scratch?.url ?? '',
    MAILROOM_HTTP_PORT: '0',
    MAILROOM_BOOTSTRAP_API_KEY: KEY,
    MAILROOM_LOG_LEVEL: 'warn',
    MAILROOM_TRANSPORT: 'mx',
    MAILROOM_DNS_SERVERS: dns.address,
    MAILROOM_MX_DELIVERY_PORT: String(sink.port),
    MAILROOM_WORKER_CONCURRENCY: '500',
    // Unset: Mailroom's default (cores - 1).
    ...(process.env.MAILROOM_PREPARE_THREADS ? { MAILROOM_PREPARE_THREADS: process.env.MAILROOM_PREPARE_THREADS } : {}),
  };
  const log = createLogger('warn');

  // Queue first, with no worker running, so that delivery alone is timed.
  const ingest = await startMailroom(loadConfig({ env: { ...env, MAILROOM_ROLES: 'api' }, cwd: dataDir }), log);
  const account = await requireAccount(ingest.db, 'default');
  await addDomain(ingest.db, account.id, 'shop.bench.test', { verified: true });
  for (let batch = 0; batch < messages / 500; batch++) {
    const list = Array.from({ length: 500 }, (_, index) => {
      const n = batch * 500 + index;
      return { from: 'Shop <orders@shop.bench.test>', to: `customer${n}@d${n % DOMAINS}.bench.test`, subject: `Order ${n} has shipped`, text: BODY };
    });
    const response = await fetch(`${ingest.url}/emails/bulk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: list }),
    });
    if (response.status !== 200) throw new Error(`bulk ingest answered ${response.status}: ${await response.text()}`);
  }
  await ingest.stop();

  const before = sink.delivered();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = await startMailroom(loadConfig({ env: { ...env, MAILROOM_ROLES: 'worker' }, cwd: dataDir }), log);
  await waitForCount(() => sink.delivered() - before, messages);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const [left] = await worker.db.query<{ queued: number; delivered: number }>(
    `SELECT (SELECT count(*) FROM queue) AS queued, (SELECT count(*) FROM messages WHERE status = 'DELIVERED') AS delivered`);
  await worker.stop();
  await dns.close();
  await scratch?.drop();
  await removeDir();
  if (left && left.delivered !== messages) console.warn(`warning: ${left.delivered} of ${messages} DELIVERED, ${left.queued} still queued`);
  return { label: `Mailroom mx, ${database === 'postgres' ? 'PostgreSQL' : 'PGlite'}, DKIM RSA-2048`, messages, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function measurePostfix(messages: number, sink: Awaited<ReturnType<typeof startCountingSink>>): Promise<Measured> {
  const postfix = await startPostfix(sink.port, 100);
  // smtp-source: 20 parallel sessions of 1 KB messages into Postfix's smtpd (held by defer_transports).
  execFileSync('/usr/sbin/smtp-source', ['-s', '20', '-m', String(messages), '-l', '1024', '-f', 'orders@shop.bench.test', '-t', 'customer@d0.bench.test', `127.0.0.1:${postfix.smtpdPort}`], { stdio: 'ignore' });
  // Wait until every message is in the queue (cleanup may still be writing the last ones).
  await waitForCount(() => postfix.queueSize(), messages, 60_000, 500);
  const before = sink.delivered();
  const started = performance.now();
  postfix.release();
  await waitForCount(() => sink.delivered() - before, messages);
  const seconds = (performance.now() - started) / 1000;
  await postfix.stop();
  return { label: 'Postfix (relayhost, no DKIM)', messages, seconds, cpuSeconds: null };
}
