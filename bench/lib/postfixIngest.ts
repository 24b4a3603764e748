import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSnapshot, cpuSplit } from './cpu.js';
import { postfixVersion, startPostfix } from './postfix.js';
import { freePort } from './processes.js';
import { treeCpuSeconds, treeSnapshot } from './processTree.js';
import { adjustSplit, number, type IngestRun } from './smtpReport.js';
import { runSmtpSource, type SmtpSourceLoad } from './smtpSource.js';

/**
 * The durable reference: a private Postfix (bench/lib/postfix.ts) whose smtpd receives the load.
 * Its cleanup daemon writes and fsyncs each message's queue file before smtpd answers 250 to
 * DATA, as Mailroom commits before it answers; every client is answered with the access action
 * HOLD, so each message lands in the hold queue and nothing is delivered (as Mailroom, run
 * without a worker, keeps everything queued). After the run all of them must be there.
 */
export async function runPostfixIngest(load: Omit<SmtpSourceLoad, 'port'>, warmup: number): Promise<IngestRun> {
  const label = `Postfix ${postfixVersion()} smtpd, durable queue (hold)`;
  const problems: string[] = [];
  // Nothing is ever relayed (all mail is held): the relayhost is a port nobody listens on.
  const postfix = await startPostfix(await freePort(), 100);
  try {
    const source = { ...load, port: postfix.smtpdPort };
    if (warmup > 0) {
      process.stdout.write(`  warm-up: ${number(warmup)} messages ... `);
      const warm = await runSmtpSource(source, warmup);
      if (warm.problems.length > 0) throw new Error(`warm-up: ${warm.problems.join('; ')}`);
      console.log(`${warm.seconds.toFixed(2)} s`);
    }
    process.stdout.write(`  smtp-source: ${number(load.messages)} messages over ${load.sessions} sessions to 127.0.0.1:${postfix.smtpdPort} ... `);
    const master = postfix.masterPid();
    const treeBefore = treeSnapshot(master);
    const cpuBefore = cpuSnapshot();
    const run = await runSmtpSource(source);
    const cpuAfter = cpuSnapshot();
    const serverCpuSeconds = treeCpuSeconds(treeBefore, treeSnapshot(master));
    console.log(`${run.seconds.toFixed(2)} s, ${number(load.messages / run.seconds)}/s`);
    problems.push(...run.problems);

    // smtpd answers 250 once cleanup has the file on disk; the count is complete at once, but allow a moment.
    const expected = warmup + load.messages;
    let files = postfix.queueFiles();
    for (let i = 0; i < 50 && files.hold < expected; i++) {
      await sleep(100);
      files = postfix.queueFiles();
    }
    const others = files.maildrop + files.incoming + files.active + files.deferred;
    const ok = run.problems.length === 0 && files.hold === expected && others === 0;
    console.log(`  queue files: ${number(files.hold)} in hold (expected ${number(expected)}), ${others} in the other queues: ${ok ? 'OK' : 'MISMATCH'}`);
    if (files.hold !== expected || others !== 0) problems.push(`queue files after the run: ${JSON.stringify(files)}, expected ${expected} in hold and none elsewhere`);
    return {
      label,
      kind: 'postfix',
      messages: load.messages,
      seconds: run.seconds,
      source: run,
      serverCpuSeconds,
      postgresCpuSeconds: null,
      split: adjustSplit(cpuSplit(cpuBefore, cpuAfter, undefined), run.cpuSeconds, serverCpuSeconds),
      commitsPerMessage: null,
      verified: `${ok ? 'yes' : 'NO'} (${number(files.hold)} held)`,
      ok,
      problems,
    };
  } finally {
    await postfix.stop();
  }
}
