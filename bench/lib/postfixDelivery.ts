import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSnapshot, cpuSplit, type CpuSplit } from './cpu.js';
import { startPostfix } from './postfix.js';
import { treeCpuSeconds, treeSnapshot } from './processTree.js';
import type { CountingSink } from './smtpSink.js';

/**
 * The reference run: a private Postfix relaying to the same smtp-sink. The payload is the file
 * given (Mailroom's composed and signed message, so both move the same bytes), injected with
 * smtp-source while delivery is held; the time runs from the release until the sink has them all.
 */
export interface PostfixRun {
  seconds: number;
  /** Release to the first message at the sink. */
  startupSeconds: number;
  steadySeconds: number;
  injectSeconds: number;
  /** CPU of the master and all its daemons during the timed run. */
  cpuSeconds: number;
  split: CpuSplit | null;
  extraAtSink: number;
  /** status=sent lines in its log. */
  sent: number;
  /** Files left in its queues after the run. */
  queued: number;
  problems: string[];
}

export async function runPostfix(options: { messages: number; concurrency: number; sink: CountingSink; payload: Buffer; payloadFile: string }): Promise<PostfixRun> {
  const { messages, sink } = options;
  const problems: string[] = [];
  // smtp-source -F sends the file's lines with CRLF appended: give it LF line ends.
  writeFileSync(options.payloadFile, options.payload.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  const postfix = await startPostfix(sink.port, options.concurrency);
  try {
    process.stdout.write(`  queueing ${messages.toLocaleString('en-US')} messages with smtp-source (20 sessions), delivery held ... `);
    const sinkBefore = sink.count();
    const injectStarted = performance.now();
    await postfix.inject(options.payloadFile, messages, 20, 'orders@shop.bench.test', 'customer@d0.bench.test');
    // cleanup may still be writing the last files when smtp-source returns.
    for (let i = 0; i < 300 && postfix.queueFiles().hold < messages; i++) await sleep(100);
    const held = postfix.queueFiles();
    const injectSeconds = (performance.now() - injectStarted) / 1000;
    console.log(`${held.hold.toLocaleString('en-US')} held in ${injectSeconds.toFixed(1)} s`);
    if (held.hold !== messages) throw new Error(`Postfix holds ${held.hold} messages, expected ${messages} (queues: ${JSON.stringify(held)})`);
    if (sink.count() !== sinkBefore) throw new Error('smtp-sink received mail while Postfix was holding it');

    const arrivals = sink.track(messages, 60_000);
    const baseline = sink.count();
    const master = postfix.masterPid();
    const treeBefore = treeSnapshot(master);
    const cpuBefore = cpuSnapshot();
    process.stdout.write('  releasing (postsuper -H ALL; postqueue -f) ... ');
    const started = performance.now();
    postfix.release();
    const { firstAt, doneAt } = await arrivals;
    const cpuAfter = cpuSnapshot();
    const cpuSeconds = treeCpuSeconds(treeBefore, treeSnapshot(master));
    const seconds = (doneAt - started) / 1000;
    console.log(`${seconds.toFixed(2)} s`);

    // Queue files go once the sink has answered the final ".": wait for the queue to empty.
    let files = postfix.queueFiles();
    for (let i = 0; i < 300 && Object.values(files).some((count) => count > 0); i++) {
      await sleep(100);
      files = postfix.queueFiles();
    }
    await sleep(1000);
    const extraAtSink = sink.count() - baseline - messages;
    if (Object.values(files).some((count) => count > 0)) problems.push(`Postfix's queue is not empty after the run: ${JSON.stringify(files)}`);
    const log = postfix.deliveryLog();
    if (log.sent !== messages || log.other > 0) {
      problems.push(`Postfix logged ${log.sent} status=sent (expected ${messages}) and ${log.other} other statuses${log.sample.length ? `: ${log.sample.join(' | ')}` : ''}`);
    }
    if (extraAtSink !== 0) problems.push(`smtp-sink received ${extraAtSink} messages more than Postfix queued`);
    return {
      seconds,
      startupSeconds: (firstAt - started) / 1000,
      steadySeconds: (doneAt - firstAt) / 1000,
      injectSeconds,
      cpuSeconds,
      split: cpuSplit(cpuBefore, cpuAfter, undefined),
      extraAtSink,
      sent: log.sent,
      queued: Object.values(files).reduce((sum, count) => sum + count, 0),
      problems,
    };
  } finally {
    await postfix.stop();
  }
}

