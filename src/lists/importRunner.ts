import { createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, HeldLock } from '../db/database.js';
import type { Clock } from '../shared/clock.js';
import { ApiError, validationError } from '../shared/errors.js';
import { newMessageId, randomToken } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';
import { Semaphore } from '../shared/semaphore.js';
import { IMPORT_LIMITS, ImportJob, readFileHeader } from './importJob.js';
import { cancelImport, createImport, getImport, IMPORT_ID_PREFIX, listImports, sql, type ListImport } from './imports.js';

/** Namespace of the advisory locks that mark live import runners ("IM"). */
const LOCK_NAMESPACE = 0x494d;
/** Imports parsed and written at once by one process; the others wait their turn, running. */
const CONCURRENT_JOBS = 2;

/**
 * Runs CSV imports in the API process that accepted them. The body is spooled to a file in the
 * data directory (never held in memory), its header checked, then the request is answered 202
 * and the job runs in the background (importJob.ts), a few at a time.
 *
 * A job outlives nothing: when its process stops (SIGTERM) or dies, the job ends `failed` with
 * an error saying it was interrupted, its counts exact up to the last batch written; importing
 * the file again adds the rest (an import is idempotent). Each runner holds a session advisory
 * lock on its random id and writes the id into its jobs; a job whose runner's lock can be taken
 * belongs to a dead process, and is marked failed when this process starts and whenever an
 * account reads its imports. (Resuming would need the file, which is on the dead process's disk.)
 */
export class ImportRunner {
  private readonly jobs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly turns = new Semaphore(CONCURRENT_JOBS);
  private stopping = false;

  private constructor(
    readonly id: string,
    private readonly dir: string,
    private readonly lock: HeldLock,
    private readonly deps: { db: Database; clock: Clock; log: Logger },
  ) {}

  static async start(deps: { db: Database; clock: Clock; log: Logger }, dataDir: string): Promise<ImportRunner> {
    const dir = join(dataDir, 'imports');
    mkdirSync(dir, { recursive: true });
    for (let attempt = 0; attempt < 10; attempt++) {
      const id = `r${randomToken(9)}`;
      const lock = await deps.db.holdLock(LOCK_NAMESPACE, id);
      if (!lock) continue; // a live runner's id hashes to the same lock
      const runner = new ImportRunner(id, dir, lock, deps);
      await runner.failInterrupted(null);
      await runner.removeStaleFiles();
      return runner;
    }
    throw new Error('could not take an import runner lock: ten ids in a row collided with live runners');
  }

  /**
   * Spools the body, checks its header, records the job and starts it. Throws 413 past the
   * size limit and 400 for a file without a usable header; nothing is stored then.
   */
  async accept(accountId: number, listId: string, body: Readable): Promise<ListImport> {
    if (this.stopping) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'Mailroom is shutting down; nothing was stored. Retry shortly.', [], { 'retry-after': '5' });
    const now = this.deps.clock.now();
    const id = IMPORT_ID_PREFIX + newMessageId(now.getTime());
    const file = join(this.dir, `${id}.csv`);
    let bytes = 0;
    try {
      await pipeline(body, new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > IMPORT_LIMITS.bytes) done(new ApiError(413, 'PAYLOAD_TOO_LARGE', `A CSV import is at most ${IMPORT_LIMITS.bytes / 1024 / 1024} MB; split the file.`, [], { connection: 'close' }));
          else done(null, chunk);
        },
      }), createWriteStream(file));
    } catch (error) {
      rmSync(file, { force: true });
      if (error instanceof ApiError) throw error;
      // The client went away, or its body broke off: nobody is left to answer.
      throw new ApiError(400, 'BAD_REQUEST', 'The request body could not be read whole; nothing was imported.');
    }
    try {
      const header = await readFileHeader(file);
      if (!header.ok) throw validationError(header.details, header.message);
      const job = await createImport(this.deps.db, { id, accountId, listId, runner: this.id, bytes }, now);
      this.launch({ id, accountId, listId, file });
      return job;
    } catch (error) {
      rmSync(file, { force: true });
      throw error;
    }
  }

  private launch(spec: { id: string; accountId: number; listId: string; file: string }): void {
    const abort = new AbortController();
    const done = (async () => {
      const release = await this.turns.acquire();
      try {
        if (abort.signal.aborted) return;
        const end = await new ImportJob(spec, this.deps, abort.signal).run();
        if (end.state === 'stopped') return; // canceled (the row says so) or stopping (stop() writes it)
        await this.deps.db.query(sql.finishImport, [spec.id, end.state, end.state === 'failed' ? end.error : null, this.deps.clock.now()]);
      } catch (error) {
        this.deps.log.error({ err: error, importId: spec.id }, 'could not record the end of a contacts import');
      } finally {
        release();
        rmSync(spec.file, { force: true });
        this.jobs.delete(spec.id);
      }
    })();
    this.jobs.set(spec.id, { abort, done });
  }

  /** Marks the jobs of dead runners failed: all of them, or one account's. */
  private async failInterrupted(accountId: number | null): Promise<void> {
    await this.deps.db.query(sql.failInterrupted, [this.id, LOCK_NAMESPACE, this.deps.clock.now(), accountId]);
  }

  /** Spooled files of jobs that no longer run (this process's predecessor's, say). */
  private async removeStaleFiles(): Promise<void> {
    const files = readdirSync(this.dir).filter((name) => /^imp_[0-9a-z]{22}\.csv$/.test(name));
    if (files.length === 0) return;
    const running = new Set((await this.deps.db.query<{ id: string }>(sql.runningAmong, [files.map((name) => name.slice(0, -4))])).map((row) => row.id));
    for (const name of files) if (!running.has(name.slice(0, -4))) rmSync(join(this.dir, name), { force: true });
  }

  async get(accountId: number, listId: string, id: string): Promise<ListImport | null> {
    await this.failInterrupted(accountId);
    return getImport(this.deps.db, accountId, listId, id);
  }

  async list(accountId: number, listId: string, options: { limit: number; cursor?: string }): Promise<{ data: ListImport[]; nextCursor: string | null }> {
    await this.failInterrupted(accountId);
    return listImports(this.deps.db, accountId, listId, options);
  }

  /**
   * Cancels a running job: the row says canceled at once; the job, in this process or another,
   * finds it so at its next batch, which it rolls back. Null when it is not running (or not there).
   */
  async cancel(accountId: number, listId: string, id: string): Promise<ListImport | null> {
    await this.failInterrupted(accountId);
    const canceled = await cancelImport(this.deps.db, accountId, listId, id, this.deps.clock.now());
    if (canceled) this.jobs.get(id)?.abort.abort();
    return canceled;
  }

  /** Whether a job of this process is still running (tests wait for the end of a canceled one). */
  isRunning(id: string): boolean {
    return this.jobs.has(id);
  }

  /** Stops every job (marked failed: interrupted), then lets go of the runner's lock. */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = [...this.jobs.entries()];
    for (const [, job] of running) job.abort.abort();
    await Promise.all(running.map(([, job]) => job.done));
    const now = this.deps.clock.now();
    for (const [id] of running) {
      await this.deps.db.query(sql.finishImport, [id, 'failed', 'interrupted: Mailroom stopped before the import finished; the rows counted were imported, and importing the file again adds the rest (an import is idempotent)', now]).catch(() => undefined);
    }
    await this.lock.release();
  }
}
