import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Real durability for PGlite on disk.
 *
 * PGlite runs Postgres with fsync off (its default start parameter -F), and even with fsync on
 * its Emscripten layer makes fdatasync a no-op and has no fsync for files of a Node directory
 * (NODEFS): a commit reaches the page cache, never the disk, and a power cut or a kernel crash
 * loses messages that were answered 200 or 250. Mailroom starts it with fsync on and
 * wal_sync_method=fsync, so every sync Postgres asks for goes through Emscripten's fd_sync to
 * the stream's `fsync` operation, which this class supplies:
 *
 * - A sync of a WAL segment (a commit) is deferred: the file is only noted. After each
 *   statement the database wrapper calls flush(), which fdatasyncs the noted files on libuv's
 *   thread pool and resolves when they are on disk; the caller hears of its commit only then,
 *   as from PostgreSQL with synchronous_commit on. The event loop, and PGlite with the next
 *   statement, run meanwhile: the one fsync covers every commit written before it.
 * - Any other sync (data files and pg_control at a checkpoint, directories) is done at once,
 *   and the noted WAL first, synchronously: the WAL must be on disk before the data pages and
 *   the checkpoint that lets Postgres recycle it (write-ahead).
 * - A WAL file closed (at a segment switch) with a sync noted or in flight is synced before it
 *   is closed, so a deferred sync never reaches a descriptor that was closed and reused.
 *
 * A failed fsync leaves the page cache in an unknown state (PostgreSQL PANICs, data_sync_retry
 * is off): every later flush fails with the same error, so nothing more is acknowledged.
 */

/** The parts of an Emscripten FS stream this needs; nfd is the Node file descriptor of a NODEFS stream. */
interface FsStream {
  path?: string;
  nfd?: number;
}

interface StreamOperations {
  fsync?: (stream: FsStream) => number;
  close?: (stream: FsStream) => void;
}

/** Emscripten's NODEFS filesystem type, as PGlite's module exposes it. */
export interface NodeFsType {
  stream_ops?: StreamOperations;
}

const WAL_DIRECTORY = '/pg_wal/';
/** WASI's errno for an I/O error, which Emscripten's fd_sync hands back to the C library. */
const WASI_EIO = 29;

/** Start parameters: PGlite's defaults without -F (fsync off), WAL synced with fsync() so that it reaches fd_sync. */
export function durableStartParams(defaults: readonly string[]): string[] {
  return [...defaults.filter((parameter) => parameter !== '-F'), '-c', 'fsync=on', '-c', 'wal_sync_method=fsync'];
}

export class WalSync {
  /** Node descriptors of WAL files Postgres asked to sync, not yet synced. */
  private noted = new Set<number>();
  /** Descriptors being fdatasynced on the thread pool now. */
  private inFlight = new Map<number, number>();
  /** In-flight descriptors whose file was synced, then closed, before their deferred sync ran. */
  private syncedAtClose = new Set<number>();
  private failure: Error | null = null;
  private installed = false;
  /** fdatasyncs of WAL files (deferred and at close), and immediate syncs of other files: for tests and metrics. */
  readonly counts = { walSyncs: 0, otherSyncs: 0 };

  /** Takes over NODEFS's fsync and close; called from PGlite's preRun, before Postgres starts. */
  install(nodefs: NodeFsType): void {
    const operations = nodefs.stream_ops;
    if (!operations || typeof operations.close !== 'function') throw new Error('PGlite: NODEFS has no stream operations to make durable');
    if (this.installed) return;
    this.installed = true;
    const close = operations.close.bind(operations);
    operations.fsync = (stream) => {
      try {
        this.onFsync(stream);
        return 0;
      } catch {
        // Postgres sees fsync() fail with EIO and stops (data_sync_retry is off); a JavaScript
        // exception thrown into the WebAssembly would only abort it less clearly.
        return WASI_EIO;
      }
    };
    operations.close = (stream) => {
      if (stream.nfd !== undefined && (this.noted.has(stream.nfd) || this.inFlight.has(stream.nfd))) {
        if (this.inFlight.has(stream.nfd)) this.syncedAtClose.add(stream.nfd);
        try {
          this.syncNow(stream.nfd, true);
        } catch {
          // Recorded by syncNow: every later flush() fails, so nothing more is acknowledged.
        }
      }
      close(stream);
    };
  }

  /** Whether a sync is waiting for flush(). */
  get pending(): boolean {
    return this.noted.size > 0;
  }

  /** Makes every WAL write noted so far durable; resolves once it is on disk. */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.noted.size === 0) return;
    const descriptors = [...this.noted];
    this.noted.clear();
    await Promise.all(descriptors.map((fd) => this.syncLater(fd)));
    if (this.failure) throw this.failure;
  }

  private onFsync(stream: FsStream): void {
    const fd = stream.nfd;
    if (fd === undefined) return;
    if (stream.path?.includes(WAL_DIRECTORY)) {
      this.noted.add(fd);
      return;
    }
    // Write-ahead: the WAL before anything that depends on it. Every noted descriptor is open (a
    // close removes its own); an in-flight one whose file was closed was synced by that close,
    // and its number is no longer that file's: syncing it failed with EBADF (or synced another
    // file). A number reused by a WAL file since is in `noted` again, and synced as such.
    const wal = new Set(this.noted);
    for (const fd of this.inFlight.keys()) if (!this.syncedAtClose.has(fd)) wal.add(fd);
    for (const fd of wal) this.syncNow(fd, true);
    this.noted.clear();
    this.syncNow(fd, false);
  }

  private syncNow(fd: number, wal: boolean): void {
    try {
      if (wal) fdatasyncSync(fd);
      else fsyncSync(fd);
    } catch (error) {
      this.fail(error);
      throw error;
    }
    this.noted.delete(fd);
    if (wal) this.counts.walSyncs++;
    else this.counts.otherSyncs++;
  }

  private syncLater(fd: number): Promise<void> {
    this.inFlight.set(fd, (this.inFlight.get(fd) ?? 0) + 1);
    return new Promise((resolve) => {
      fdatasync(fd, (error) => {
        const left = (this.inFlight.get(fd) ?? 1) - 1;
        if (left > 0) this.inFlight.set(fd, left);
        else this.inFlight.delete(fd);
        // EBADF is no failure only for a file that close synced first.
        const closedAndSynced = this.syncedAtClose.delete(fd);
        if (error && !(error.code === 'EBADF' && closedAndSynced)) this.fail(error);
        else if (!error) this.counts.walSyncs++;
        resolve();
      });
    });
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    const reason = error instanceof Error ? error.message : String(error);
    this.failure = new Error(`PGlite: could not sync the database to disk (${reason}); stop Mailroom, check the disk, and start it again`);
  }
}

/**
 * fsyncs every file and directory under dir, once, for a data directory PGlite has just
 * created: initdb writes it without syncing, and the first checkpoint syncs only what it dirtied.
 */
export function syncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) syncTree(path);
    else if (entry.isFile()) syncPath(path);
  }
  syncPath(dir);
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
