import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KeyCache, prepareMessage, type PrepareJob, type Prepared } from './prepare.js';

interface Pending {
  resolve(prepared: Prepared): void;
  reject(error: Error): void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

const BACKLOG_FOR_INLINE = 8;
const MAX_INLINE = 1;

type Reply = { id: number; raw: Uint8Array; signMs: number } | { id: number; error: string };

/**
 * Composing and DKIM-signing cost about 0.6 ms of CPU per message, most of the worker's own
 * work: with `threads` > 0 they run on that many worker threads (MAILROOM_PREPARE_THREADS), so
 * the event loop keeps to SMTP and the database and the other cores share the RSA work. With 0
 * they run inline. Each job goes to the thread with the fewest in flight; a thread that dies
 * fails its jobs (the worker defers them, to be retried) and is replaced.
 */
export class MessagePreparer {
  private readonly threads: Thread[] = [];
  private readonly inline = new KeyCache();
  private nextId = 1;
  private inlineRunning = 0;
  private closed = false;

  /**
   * `shareEventLoop`: let the event loop take jobs when the threads are backlogged. Right with
   * PostgreSQL; wrong with PGlite, whose database engine runs on the event loop itself.
   */
  constructor(threadCount: number, private readonly shareEventLoop = false) {
    for (let i = 0; i < threadCount; i++) this.threads.push(this.spawn());
  }

  prepare(job: PrepareJob): Promise<Prepared> {
    if (this.threads.length === 0) return prepareMessage(job, this.inline);
    const thread = this.threads.reduce((best, candidate) => (candidate.pending.size < best.pending.size ? candidate : best));
    // When every thread has a backlog, the event loop (which waits on the network most of the
    // time) takes a job too, so that its idle time is not wasted on a small machine.
    if (this.shareEventLoop && thread.pending.size >= BACKLOG_FOR_INLINE && this.inlineRunning < MAX_INLINE) {
      this.inlineRunning++;
      return prepareMessage(job, this.inline).finally(() => this.inlineRunning--);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private spawn(): Thread {
    // The thread's module has this module's extension: .js when built, .ts under tsx in
    // development and tests (the thread inherits tsx through execArgv).
    const extension = extname(fileURLToPath(import.meta.url));
    const url = new URL(`./prepareThread${extension}`, import.meta.url);
    const thread: Thread = { worker: extension === '.ts' ? typeScriptWorker(url) : new Worker(url), pending: new Map() };
    thread.worker.on('message', (reply: Reply) => {
      const pending = thread.pending.get(reply.id);
      if (!pending) return;
      thread.pending.delete(reply.id);
      if ('error' in reply) pending.reject(new Error(reply.error));
      else pending.resolve({ raw: Buffer.from(reply.raw.buffer, reply.raw.byteOffset, reply.raw.byteLength), signMs: reply.signMs });
    });
    const failPending = (error: Error) => {
      for (const pending of thread.pending.values()) pending.reject(error);
      thread.pending.clear();
    };
    // 'error' is always followed by 'exit': only the exit replaces the thread.
    thread.worker.on('error', failPending);
    thread.worker.on('exit', (code) => {
      failPending(new Error(`preparation thread exited with code ${code}`));
      const index = this.threads.indexOf(thread);
      if (index >= 0 && !this.closed) this.threads[index] = this.spawn();
    });
    return thread;
  }
}

/**
 * In development and tests the modules are TypeScript run through tsx, whose loader hooks do not
 * reach worker threads by themselves: the thread registers them before importing its module.
 */
function typeScriptWorker(url: URL): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(url.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`));
}
