import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { onCleanup } from './cleanup.js';
import { cpuSnapshot, cpuSplit } from './cpu.js';
import { commitCount, createScratchDatabase } from './postgres.js';
import { freePort, startChild, waitForOk, type Child } from './processes.js';
import { mainThreadCpuSeconds } from './processTree.js';
import { adjustSplit, number, type IngestRun } from './smtpReport.js';
import { runSmtpSource, smtpGreeting, type SmtpSourceLoad } from './smtpSource.js';

/**
 * Mailroom's SMTP API as a target: `node dist/cli/main.js start` with the api and smtp roles
 * only (no worker, so every accepted message stays queued, as Postfix's stay held), on a fresh
 * PostgreSQL database or PGlite data directory. Loopback is registered as an IP credential
 * through POST /smtp-credentials, so smtp-source submits without AUTH on the plain-text
 * submission port. A 250 to DATA means the message is durably stored; after the run the process
 * is stopped (SIGTERM) and the rows in `messages` must equal the messages smtp-source sent.
 */
export interface MailroomSmtpOptions {
  root: string;
  kind: 'postgres' | 'pglite';
  apiKey: string;
  load: Omit<SmtpSourceLoad, 'port'>;
  warmup: number;
}

/** Mailroom's children get no MAILROOM_* setting from the caller's environment, only the bench's. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MAILROOM_')) env[name] = value;
  return { ...env, ...extra };
}

interface Counts {
  messages: number;
  statuses: Record<string, number>;
}

async function countMessages(query: <T>(sql: string) => Promise<T[]>): Promise<Counts> {
  const [total] = await query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
  const rows = await query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM messages GROUP BY status ORDER BY status');
  return { messages: total?.n ?? 0, statuses: Object.fromEntries(rows.map((row) => [row.status, row.n])) };
}

async function registerLoopback(base: string, apiKey: string): Promise<void> {
  const response = await fetch(`${base}/smtp-credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'ip', address: '127.0.0.1/32' }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /smtp-credentials {"type":"ip","address":"127.0.0.1/32"} answered ${response.status}: ${text.slice(0, 500)}`);
}

export async function runMailroomSmtp(options: MailroomSmtpOptions): Promise<IngestRun> {
  const { kind, load, warmup } = options;
  const label = `Mailroom SMTP, ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}`;
  const problems: string[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), `mailroom-bench-smtp-${kind}-`));
  const removeDataDir = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const database = kind === 'postgres' ? await createScratchDatabase() : null;
  let child: Child | null = null;
  try {
    const [httpPort, smtpPort, smtpsPort, mxPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env: Record<string, string> = {
      MAILROOM_ROLES: 'api,smtp',
      MAILROOM_TRANSPORT: 'sandbox',
      MAILROOM_HOST: '127.0.0.1',
      MAILROOM_HTTP_PORT: String(httpPort),
      MAILROOM_SMTP_PORT: String(smtpPort),
      MAILROOM_SMTPS_PORT: String(smtpsPort),
      MAILROOM_MX_PORT: String(mxPort),
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_BOOTSTRAP_API_KEY: options.apiKey,
      MAILROOM_LOG_LEVEL: 'warn',
      // smtp-source opens all its sessions from 127.0.0.1.
      MAILROOM_SMTP_MAX_CONNECTIONS_PER_IP: String(Math.max(100, load.sessions)),
    };
    if (database) env.MAILROOM_DATABASE_URL = database.url;
    const startedAt = Date.now();
    child = startChild(`mailroom (${kind})`, process.execPath, ['dist/cli/main.js', 'start'], { cwd: options.root, env: childEnv(env) });
    const base = `http://127.0.0.1:${httpPort}`;
    await waitForOk(`${base}/readyz`, child, 180_000);
    // The credential first: a connection made before it exists may be refused (IP credentials are cached per address).
    await registerLoopback(base, options.apiKey);
    const greeting = await smtpGreeting(smtpPort, 30_000);
    if (!greeting.startsWith('220')) throw new Error(`Mailroom's SMTP port ${smtpPort} greets 127.0.0.1 with "${greeting}"`);
    console.log(`  ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s (HTTP ${httpPort}, SMTP ${smtpPort}: "${greeting}")`);

    const source = { ...load, port: smtpPort };
    if (warmup > 0) {
      process.stdout.write(`  warm-up: ${number(warmup)} messages ... `);
      const warm = await runSmtpSource(source, warmup);
      if (warm.problems.length > 0) throw new Error(`warm-up: ${warm.problems.join('; ')}`);
      console.log(`${warm.seconds.toFixed(2)} s`);
    }
    const commitsBefore = database ? await commitCount(database.name) : null;
    process.stdout.write(`  smtp-source: ${number(load.messages)} messages over ${load.sessions} sessions to 127.0.0.1:${smtpPort} ... `);
    const pid = child.process.pid!;
    const mainBefore = mainThreadCpuSeconds(pid);
    const cpuBefore = cpuSnapshot();
    const run = await runSmtpSource(source);
    const cpuAfter = cpuSnapshot();
    const mainAfter = mainThreadCpuSeconds(pid);
    console.log(`${run.seconds.toFixed(2)} s, ${number(load.messages / run.seconds)}/s`);
    problems.push(...run.problems);
    const split = adjustSplit(cpuSplit(cpuBefore, cpuAfter, pid), run.cpuSeconds);
    if (split && mainBefore !== null && mainAfter !== null) {
      // One core is the ceiling of a Node process's event loop: near 1.0 here, it is the bottleneck.
      console.log(`  mailroom's main thread (event loop): ${((mainAfter - mainBefore) / split.seconds).toFixed(2)} cores of its ${split.server.toFixed(2)}`);
    }

    const exit = await child.stop('SIGTERM');
    if (exit.code !== 0) problems.push(`mailroom exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    // The one expected warning: no certificate was configured, so it made a self-signed one at start-up.
    const logged = child.output();
    const unexpected = logged.tail.filter((line) => !line.includes('generated a self-signed certificate'));
    const lines = logged.lines - (logged.tail.length - unexpected.length);
    if (lines > 0) problems.push(`mailroom logged ${lines} line(s) at warn or above besides the self-signed certificate notice; the last: ${unexpected.slice(-3).join(' | ')}`);

    // Backends report their commits at the latest when they exit: after the stop the count is complete.
    const commits = database && commitsBefore !== null ? (await commitCount(database.name)) - commitsBefore : null;
    let counts: Counts;
    if (database) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        counts = await countMessages(async <T>(sql: string) => (await client.query(sql)).rows as T[]);
      } finally {
        await client.end();
      }
    } else {
      // Imported here, so that the sink and Postfix targets run whatever state src/ is in.
      const { openPglite } = await import('../../src/db/pglite.js');
      const db = await openPglite(dataDir);
      try {
        counts = await countMessages(async <T>(sql: string) => (await db.query(sql)) as T[]);
      } finally {
        await db.close();
      }
    }
    const expected = warmup + load.messages;
    // smtp-source stops at the first refusal: then only the exit is known, not how many were acknowledged.
    const completed = run.exit.code === 0;
    const stored = counts.messages === expected;
    const ok = stored && run.problems.length === 0;
    if (commits !== null) console.log(`  postgresql: ${number(commits)} transactions committed during the run and the stop (${(load.messages / Math.max(1, commits)).toFixed(1)} messages per commit)`);
    console.log(
      `  durability: ${completed ? `${number(expected)} acknowledged (250 to DATA)` : `smtp-source failed (exit ${run.exit.code})`}, ` +
        `${number(counts.messages)} rows in messages ${JSON.stringify(counts.statuses)}: ${stored ? 'OK' : completed ? 'MISMATCH' : 'incomplete run'}`,
    );
    if (completed && !stored) {
      const message =
        `DURABILITY FAILURE on ${label}: smtp-source sent ${expected} messages and every DATA was answered 250, ` +
        `yet messages holds ${counts.messages} rows (${counts.messages - expected > 0 ? '+' : ''}${counts.messages - expected})`;
      console.error(`\n!!! ${message}\n`);
      problems.push(message);
    } else if (!completed) {
      problems.push(`smtp-source did not complete: ${counts.messages} of ${expected} messages stored when it stopped`);
    }
    const postgresCpuSeconds = database && split ? split.postgres * split.seconds : null;
    return {
      label,
      kind: 'mailroom',
      messages: load.messages,
      seconds: run.seconds,
      source: run,
      serverCpuSeconds: split ? split.server * split.seconds : null,
      postgresCpuSeconds,
      split,
      commitsPerMessage: commits === null ? null : commits / load.messages,
      verified: `${ok ? 'yes' : 'NO'} (${number(counts.messages)} rows)`,
      ok,
      problems,
    };
  } finally {
    await child?.stop();
    await database?.drop();
    await removeDataDir();
  }
}
