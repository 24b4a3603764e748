/**
 * delivery: how many queued messages per second Mailroom's worker delivers, by the mx transport
 * with DKIM RSA-2048, to postfix's `smtp-sink` on loopback; and, as the reference measured in the
 * same run, how many a private Postfix relays to the same sink from its own queue.
 *
 * N messages of about 1 KB to recipients spread over 100 domains (d0.bench.test ... d99, each
 * with its own MX host mx.dN.bench.test at 127.0.0.1, served by a DNS server started here) are
 * queued first with no worker running; then a worker-only process starts and is timed until the
 * sink has counted all N. Postfix gets the same number of messages with delivery held, then is
 * released and timed the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDnsServer, type Zone } from '../test/helpers/dnsServer.js';
import { buildDist, machineLine } from './lib/preamble.js';
import { invocation, parseBenchOptions, positiveInteger, UsageError } from './lib/args.js';
import { onCleanup } from './lib/cleanup.js';
import { formatSplit } from './lib/cpu.js';
import { createDeliveryStore } from './lib/deliveryStore.js';
import { mailroomRow, number, postfixRow, table, type Row } from './lib/deliveryReport.js';
import { runMailroom } from './lib/mailroomDelivery.js';
import { postfixVersion } from './lib/postfix.js';
import { runPostfix } from './lib/postfixDelivery.js';
import { BENCH_SERVER_URL, serverVersion } from './lib/postgres.js';
import { startCountingSink } from './lib/smtpSink.js';

export const description = 'queued messages/s delivered by mx with DKIM RSA-2048 to smtp-sink, against Postfix relaying the same load';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const API_KEY = 'mr_bench_delivery_0123456789abcdef';
const SENDING_DOMAIN = 'shop.bench.test';
const DOMAINS = 100;
const TARGET_RATE = 2_000;
const TARGET_RATIO = 1.0;
/** About 720 bytes of text: the composed message is about 1 KB before its DKIM signature. */
const BODY = 'Your order has shipped and is on its way. Track it in your account at any time.\n'.repeat(9);

const USAGE = `npm run bench -- delivery [--messages=N] [--database=pglite|postgres|both] [--transport=mx|relay]
                            [--concurrency=N] [--signing-threads=N] [--skip-postfix] [--profile] [--no-build]

  --messages         messages per run (default 50000)
  --database         Mailroom's store (default pglite; both: PGlite then PostgreSQL)
  --transport        mx (default: MX look-ups against the bench's DNS server) or relay (smtp://sink)
  --concurrency      deliveries in flight, both sides (default 100): Mailroom's worker concurrency and
                     its per-destination (per-address) connection limit; Postfix's destination
                     concurrency for its relayhost
  --signing-threads  UV_THREADPOOL_SIZE for the worker, the threads that DKIM-sign (default: Node's, 4)
  --skip-postfix     leave out the Postfix reference
  --profile          run the worker under node --cpu-prof and print where its threads spent the run
                     (profiling slows it down: do not quote those rates)
  --no-build         use dist/ as it is instead of running npm run build first

PostgreSQL: postgres://postgres@127.0.0.1:5432 (MAILROOM_BENCH_DATABASE_URL overrides); each run
creates a database mr_bench_<random> and drops it afterwards. The Postfix reference needs root
and the Debian postfix package (smtp-sink, smtp-source, postfix, postsuper, postqueue).`;

interface Options {
  messages: number;
  databases: ('pglite' | 'postgres')[];
  transport: 'mx' | 'relay';
  concurrency: number;
  signingThreads: number | null;
  skipPostfix: boolean;
  profile: boolean;
  build: boolean;
}

function parseOptions(args: string[]): Options | null {
  const values = parseBenchOptions(args, {
    messages: { type: 'string' },
    database: { type: 'string' },
    transport: { type: 'string' },
    concurrency: { type: 'string' },
    'signing-threads': { type: 'string' },
    'skip-postfix': { type: 'boolean' },
    profile: { type: 'boolean' },
    'no-build': { type: 'boolean' },
  }, USAGE);
  if (!values) return null;
  const database = values.database ?? 'pglite';
  if (!['pglite', 'postgres', 'both'].includes(database)) throw new UsageError(`--database takes pglite, postgres or both; got "${database}"`);
  const transport = values.transport ?? 'mx';
  if (transport !== 'mx' && transport !== 'relay') throw new UsageError(`--transport takes mx or relay; got "${transport}"`);
  const threads = values['signing-threads'];
  if (threads !== undefined && !/^[1-9]\d*$/.test(threads)) throw new UsageError(`--signing-threads takes a number from 1; got "${threads}"`);
  return {
    messages: positiveInteger('messages', values.messages, 50_000, 1_000_000),
    databases: database === 'both' ? ['pglite', 'postgres'] : [database as 'pglite' | 'postgres'],
    transport,
    concurrency: positiveInteger('concurrency', values.concurrency, 100, 1000),
    signingThreads: threads === undefined ? null : Number(threads),
    skipPostfix: values['skip-postfix'] ?? false,
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

function request(n: number): Record<string, unknown> {
  return {
    from: `Shop <orders@${SENDING_DOMAIN}>`,
    to: `customer${n}@d${n % DOMAINS}.bench.test`,
    subject: `Your order ${n} has shipped`,
    text: BODY,
    externalId: `order-${n}`,
  };
}

/** A message shaped like Mailroom's (with a dummy DKIM-Signature), for when no Mailroom run produced one. */
function syntheticMessage(): Buffer {
  const signature = `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${SENDING_DOMAIN}; s=bench; h=from:to:subject:date:message-id:mime-version:content-type:content-transfer-encoding; bh=${'A'.repeat(44)}; b=${'B'.repeat(344)}`;
  const headers = [
    signature.replace(/(.{76})/g, '$1\r\n '),
    `From: Shop <orders@${SENDING_DOMAIN}>`,
    'To: customer0@d0.bench.test',
    'Subject: Your order 0 has shipped',
    `Message-ID: <bench-0@${SENDING_DOMAIN}>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${BODY.replace(/\n/g, '\r\n')}`, 'latin1');
}


export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (!options) return 0;
  const command = invocation(['delivery', ...args]);
  const started = new Date();
  console.log(`delivery benchmark, ${started.toISOString()}`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  if (options.databases.includes('postgres')) {
    try {
      console.log(`postgresql: ${await serverVersion()} at ${new URL(BENCH_SERVER_URL).host}`);
    } catch (error) {
      throw new UsageError(`cannot reach PostgreSQL at ${new URL(BENCH_SERVER_URL).host} (${(error as Error).message}): start it, set MAILROOM_BENCH_DATABASE_URL, or use --database=pglite`);
    }
  }
  if (!options.skipPostfix) console.log(`postfix: ${postfixVersion()}`);
  console.log(
    `load: ${number(options.messages)} messages, one recipient each over ${DOMAINS} domains, from ${SENDING_DOMAIN} (DKIM RSA-2048), ` +
      `concurrency ${options.concurrency}, transport ${options.transport}`,
  );
  if (options.build) buildDist();

  const scratch = mkdtempSync(join(tmpdir(), 'mailroom-bench-delivery-'));
  const removeScratch = onCleanup(() => rmSync(scratch, { recursive: true, force: true }));
  const dns = await startDnsServer(zone());
  const closeDns = onCleanup(() => dns.close());
  const sink = await startCountingSink();
  console.log(`smtp-sink on 127.0.0.1:${sink.port}, DNS server on ${dns.address}`);
  const profileRoot = join(ROOT, '.bench', 'profiles', started.toISOString().replace(/[:.]/g, '-'));

  const rows: Row[] = [];
  const notes: string[] = [];
  const profiles: string[] = [];
  let sample: Buffer | null = null;
  for (const database of options.databases) {
    const label = `Mailroom ${options.transport}, ${database === 'postgres' ? 'PostgreSQL' : 'PGlite'}, DKIM RSA-2048`;
    console.log(`\n${label}`);
    const store = await createDeliveryStore(database, API_KEY, SENDING_DOMAIN);
    try {
      const result = await runMailroom({
        root: ROOT,
        store,
        apiKey: API_KEY,
        messages: options.messages,
        request,
        transport: options.transport,
        concurrency: options.concurrency,
        signingThreads: options.signingThreads,
        sink,
        dnsAddress: dns.address,
        profileDir: options.profile ? join(profileRoot, `worker-${database}`) : null,
      });
      sample ??= result.sample;
      rows.push(mailroomRow(label, result, options.messages, database));
      console.log(`  ${formatSplit(result.split, 'worker')}`);
      for (const problem of result.problems) notes.push(`${label}: ${problem}`);
      if (result.profile) profiles.push(`${label}\n${result.profile}`);
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      notes.push(`${label}: failed: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      await store.remove();
    }
  }

  if (!options.skipPostfix) {
    console.log(`\nPostfix ${postfixVersion()}, private instance, relayhost = [127.0.0.1]:${sink.port}`);
    if (!sample) {
      sample = syntheticMessage();
      notes.push('Postfix: no Mailroom run produced a message to copy: Postfix relayed a hand-made one of about the same size');
    }
    try {
      const result = await runPostfix({ messages: options.messages, concurrency: options.concurrency, sink, payload: sample, payloadFile: join(scratch, 'message.eml') });
      rows.push(postfixRow(result, options.messages));
      console.log(`  ${formatSplit(result.split, '(none)')} (Postfix's master and daemons: ${(result.cpuSeconds / result.seconds).toFixed(2)} cores, within "other")`);
      for (const problem of result.problems) notes.push(`Postfix: ${problem}`);
    } catch (error) {
      console.error(`  failed: ${(error as Error).message}`);
      notes.push(`Postfix: failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  await sink.stop();
  await closeDns();
  await removeScratch();

  console.log(`\nResults (${started.toISOString().slice(0, 10)}; ${command})\n`);
  console.log(table(rows));
  console.log(
    `\nmessages/s = messages / seconds from the worker's spawn (Postfix: from the release) until smtp-sink counted the last;\n` +
      `first→last = the rate between the first and the last message at the sink (without start-up);\n` +
      `CPU s per 1,000 = CPU time of the Mailroom worker process (all threads), or of Postfix's master and its daemons, per 1,000 messages.\n` +
      `Each message is ${sample ? number(sample.length) : '?'} bytes as Mailroom sends it (DKIM-Signature included); Postfix relays the same bytes, ` +
      `without signing them (it would need an OpenDKIM milter): the comparison favours Postfix.`,
  );
  if (notes.length > 0) console.log(`\nnotes:\n${notes.map((note) => `  ${note}`).join('\n')}`);

  const reference = rows.find((row) => row.postfix);
  console.log('\ntargets:');
  for (const row of rows.filter((entry) => !entry.postfix)) {
    const rate = row.messages / row.seconds;
    console.log(`  ${rate >= TARGET_RATE ? 'met    ' : 'NOT met'}  at least ${number(TARGET_RATE)} messages/s: ${number(rate)}/s (${row.label})`);
    if (reference) {
      const ratio = rate / (reference.messages / reference.seconds);
      console.log(`  ${ratio >= TARGET_RATIO ? 'met    ' : 'NOT met'}  at least ${TARGET_RATIO.toFixed(1)}x Postfix: ${ratio.toFixed(2)}x (${row.label})`);
    } else {
      console.log(`  -        at least ${TARGET_RATIO.toFixed(1)}x Postfix: not measured`);
    }
  }
  for (const profile of profiles) console.log(`\n${profile}`);
  if (options.profile) console.log(`\nprofiles kept in ${relative(ROOT, profileRoot)}/ (open them in Chrome DevTools or speedscope)`);
  const failed = rows.length < options.databases.length + (options.skipPostfix ? 0 : 1) || rows.some((row) => !row.verified.startsWith('yes'));
  return failed ? 1 : 0;
}
