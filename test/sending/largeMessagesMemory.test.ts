import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { TEST_KEY } from '../helpers/app.js';
import { createTestStore } from '../helpers/database.js';
import { prepareStore, spawnMailroom, type MailroomProcess } from '../helpers/process.js';
import { samplePdf } from '../helpers/samplePdf.js';

/**
 * Twenty concurrent POST /emails, each with a 9.9 MB attachment, to a Mailroom process that
 * stores them (PGlite by default) and delivers them to the sandbox catcher. Before the fix the
 * process grew by 2.9 GB and stayed there: every request was read at once, the group commit put
 * all twenty (264 MB of JSON) into one statement, whose WASM memory PGlite never gives back, and
 * the worker then claimed all twenty in one statement too.
 *
 * The bound: one such message costs this process about 350 MB on its own (measured: PGlite's
 * WASM heap grows by about 200 MB to run one 13 MB statement, and keeps it for the next; the V8
 * heap and buffers hold about 150 MB of copies until collected: the body, its string, the parsed
 * request, the statement's JSON, the composed MIME, the catcher's copy). What concurrency may add
 * is bounded by the large-body turns (4 bodies read at once) and the worker's 32 MB of content in
 * delivery, not by the number of requests: measured 480-580 MB for 20 and about 620 MB for 40
 * alone, and up to 702 MB for 20 with another test file running beside it (garbage collection
 * comes later on a busy machine). 900 MB leaves room for that; 2.9 GB fails it.
 */
const MESSAGES = 20;
const ATTACHMENT_BYTES = Math.floor(9.9 * 1024 * 1024);
const BOUND_MB = 900;

interface Memory {
  rssMb: number;
  peakMb: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rssMb: mb('VmRSS'), peakMb: mb('VmHWM') };
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false where the kernel does not allow it. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

test(`${MESSAGES} concurrent 9.9 MB messages: the process grows by less than ${BOUND_MB} MB, and every message is stored and delivered`, {
  skip: existsSync('/proc/self/status') ? false : 'needs /proc (Linux) to read the peak RSS of the child process',
  timeout: 300_000,
}, async (t) => {
  const store = await createTestStore();
  let mailroom: MailroomProcess | null = null;
  try {
    await prepareStore(store, ['elipackage.com']);
    mailroom = await spawnMailroom({ ...store.env, MAILROOM_LOG_LEVEL: 'warn' }, 'api,worker');
    const pid = mailroom.child.pid!;
    const post = (body: string) => fetch(`${mailroom!.url}/emails`, { method: 'POST', headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' }, body });
    const message = (subject: string, attachment?: string) => JSON.stringify({
      to: 'john.doe@example.com', from: 'promo@elipackage.com', subject, text: 'The report is attached.',
      ...(attachment ? { attachments: [{ filename: 'report.pdf', content: attachment }] } : {}),
    });
    // Warm: the routes compiled, a message stored and delivered.
    for (let index = 0; index < 2; index++) assert.equal((await post(message('warm-up'))).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // A real PDF's bytes do not compress: random content after a PDF header.
    const attachment = Buffer.concat([samplePdf(), randomBytes(ATTACHMENT_BYTES - samplePdf().length)]).toString('base64');
    const body = message('large', attachment);
    const before = memoryOf(pid);
    const exact = resetPeak(pid);
    let sampledPeak = before.rssMb;
    const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, memoryOf(pid).rssMb)), 20);
    const started = Date.now();
    let statuses: number[];
    let delivered = 0;
    try {
      statuses = await Promise.all(Array.from({ length: MESSAGES }, async () => {
        const response = await post(body);
        await response.arrayBuffer();
        return response.status;
      }));
      // Delivered too: the worker's part (claim, compose, catch) counts.
      const deadline = Date.now() + 180_000;
      while (Date.now() < deadline) {
        const listed = (await (await fetch(`${mailroom.url}/emails?limit=100`, { headers: { authorization: `Bearer ${TEST_KEY}` } })).json()) as { data: { subject: string; status: string }[] };
        delivered = listed.data.filter((entry) => entry.subject === 'large' && entry.status === 'DELIVERED').length;
        if (delivered === MESSAGES) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      clearInterval(sampler);
    }
    const after = memoryOf(pid);
    const peak = exact ? Math.max(after.peakMb, sampledPeak) : sampledPeak;
    const growth = peak - before.rssMb;
    t.diagnostic(`RSS before ${before.rssMb.toFixed(0)} MB, peak ${peak.toFixed(0)} MB (growth ${growth.toFixed(0)} MB, ${exact ? 'VmHWM' : 'sampled'}), after ${after.rssMb.toFixed(0)} MB; ${MESSAGES} messages stored and delivered in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    assert.deepEqual(statuses, Array.from({ length: MESSAGES }, () => 200), 'every message accepted');
    assert.equal(delivered, MESSAGES, 'every message stored and delivered');
    assert.ok(growth < BOUND_MB, `the process grew by ${growth.toFixed(0)} MB (bound ${BOUND_MB} MB)`);
  } finally {
    if (mailroom) {
      mailroom.child.kill('SIGTERM');
      await mailroom.exited;
    }
    await store.dispose();
  }
});
