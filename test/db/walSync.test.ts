import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../../src/db/database.js';
import { durabilityCounts } from '../../src/db/pglite.js';
import { durableStartParams, WalSync, type NodeFsType } from '../../src/db/walSync.js';
import { createTestStore, onPostgres, type TestStore } from '../helpers/database.js';

/**
 * PGlite never fsyncs on its own (fsync off, and a no-op fdatasync in its Emscripten layer):
 * walSync.ts makes every commit reach the disk before its statement's result is returned. The
 * class is tested on real files with Emscripten's stream operations stood in by a plain object
 * (the only part of PGlite it touches); the wiring on a real PGlite data directory.
 */

interface Stream {
  path: string;
  nfd: number;
}

interface FakeOperations {
  fsync?: (stream: Stream) => number;
  close: (stream: { nfd?: number }) => void;
}

function fakeNodefs(closed: number[]): NodeFsType & { stream_ops: FakeOperations } {
  return {
    stream_ops: {
      close: (stream) => {
        closed.push(stream.nfd!);
        closeSync(stream.nfd!);
      },
    },
  };
}

describe('WalSync', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailroom-walsync-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function openStream(name: string): Stream {
    const path = join(dir, name.replace(/\//g, '_'));
    const nfd = openSync(path, 'w');
    writeSync(nfd, 'some bytes');
    return { path: `/pglite/data/${name}`, nfd };
  }

  test('a WAL sync is deferred to flush(), which syncs it once', async () => {
    const walSync = new WalSync();
    const nodefs = fakeNodefs([]);
    walSync.install(nodefs);
    const wal = openStream('pg_wal/000000010000000000000001');
    assert.equal(nodefs.stream_ops.fsync?.(wal), 0);
    assert.equal(nodefs.stream_ops.fsync?.(wal), 0);
    assert.equal(walSync.pending, true);
    assert.equal(walSync.counts.walSyncs, 0, 'nothing is synced before flush()');
    await walSync.flush();
    assert.equal(walSync.pending, false);
    assert.equal(walSync.counts.walSyncs, 1, 'two requests for one file, one fdatasync');
    await walSync.flush();
    assert.equal(walSync.counts.walSyncs, 1, 'a flush with nothing noted syncs nothing');
    nodefs.stream_ops.close(wal);
  });

  test('any other sync first syncs the noted WAL (write-ahead), then the file itself, at once', () => {
    const walSync = new WalSync();
    const nodefs = fakeNodefs([]);
    walSync.install(nodefs);
    const wal = openStream('pg_wal/000000010000000000000002');
    const data = openStream('base/5/16384');
    nodefs.stream_ops.fsync?.(wal);
    nodefs.stream_ops.fsync?.(data);
    assert.deepEqual(walSync.counts, { walSyncs: 1, otherSyncs: 1 });
    assert.equal(walSync.pending, false);
    nodefs.stream_ops.close(wal);
    nodefs.stream_ops.close(data);
  });

  test('a checkpoint while a closed segment\'s deferred sync is in flight syncs what is open, never the closed descriptor', async () => {
    // bench campaign on PGlite: a segment switch closed a WAL file whose flush() was on the thread
    // pool, then a checkpoint synced a data file; the write-ahead step fdatasynced the closed
    // descriptor (EBADF) and every statement after failed.
    const walSync = new WalSync();
    const nodefs = fakeNodefs([]);
    walSync.install(nodefs);
    const old = openStream('pg_wal/000000010000000000000010');
    // Opened first, so that the closed descriptor's number is not reused (reuse is the other case).
    const next = openStream('pg_wal/000000010000000000000011');
    const data = openStream('base/5/16385');
    nodefs.stream_ops.fsync?.(old);
    const flushed = walSync.flush(); // the fdatasync is on the thread pool: it cannot finish before the lines below
    nodefs.stream_ops.close(old);
    nodefs.stream_ops.fsync?.(next);
    assert.equal(nodefs.stream_ops.fsync?.(data), 0, 'the checkpoint\'s sync succeeds');
    await flushed;
    await walSync.flush();
    assert.equal(walSync.counts.otherSyncs, 1);
    nodefs.stream_ops.close(next);
    nodefs.stream_ops.close(data);
  });

  test('a WAL file closed with a sync noted is synced before it is closed', async () => {
    const closed: number[] = [];
    const walSync = new WalSync();
    const nodefs = fakeNodefs(closed);
    walSync.install(nodefs);
    const wal = openStream('pg_wal/000000010000000000000003');
    nodefs.stream_ops.fsync?.(wal);
    nodefs.stream_ops.close(wal);
    assert.deepEqual(closed, [wal.nfd]);
    assert.equal(walSync.counts.walSyncs, 1);
    assert.equal(walSync.pending, false);
    await walSync.flush();
    assert.equal(walSync.counts.walSyncs, 1, 'the closed descriptor is not synced again');
  });

  test('a failed sync fails that flush and every later one', async () => {
    const walSync = new WalSync();
    const nodefs = fakeNodefs([]);
    walSync.install(nodefs);
    // A descriptor that is not open (1,000,000 never is): its sync fails, and must not pass.
    const bogus = { path: '/pglite/data/pg_wal/000000010000000000000004', nfd: 1_000_000 };
    nodefs.stream_ops.fsync?.(bogus);
    const data = openStream('base/5/16385');
    assert.equal(nodefs.stream_ops.fsync?.(data), 29, 'Postgres is told EIO: the write-ahead sync of the bad descriptor failed');
    await assert.rejects(walSync.flush(), /could not sync the database to disk/);
    await assert.rejects(walSync.flush(), /could not sync the database to disk/);
    closeSync(data.nfd);
  });

  test('start parameters: PGlite\'s defaults without -F, fsync on, WAL synced with fsync()', () => {
    const params = durableStartParams(['--single', '-F', '-O', '-c', 'search_path=public']);
    assert.deepEqual(params, ['--single', '-O', '-c', 'search_path=public', '-c', 'fsync=on', '-c', 'wal_sync_method=fsync']);
  });
});

describe('PGlite on disk', { skip: onPostgres ? 'PGlite only' : false }, () => {
  let store: TestStore;
  let db: Database;
  before(async () => {
    store = await createTestStore();
    db = await store.open();
    await db.query('CREATE TABLE durable_probe (id serial PRIMARY KEY, note text)');
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });

  test('runs with fsync on and WAL synced through fsync()', async () => {
    const [fsync] = await db.query<{ fsync: string }>('SHOW fsync');
    const [method] = await db.query<{ wal_sync_method: string }>('SHOW wal_sync_method');
    assert.equal(fsync?.fsync, 'on');
    assert.equal(method?.wal_sync_method, 'fsync');
  });

  test('a commit is on disk when its statement returns; a read syncs nothing', async () => {
    const before = durabilityCounts(db);
    assert.ok(before, 'a PGlite database on disk has a durability layer');
    await db.query('INSERT INTO durable_probe (note) VALUES ($1)', ['one']);
    const afterInsert = durabilityCounts(db)!;
    assert.ok(afterInsert.walSyncs > before.walSyncs, `the insert's WAL was fdatasynced before it returned (${before.walSyncs} -> ${afterInsert.walSyncs})`);
    await db.query('SELECT count(*) FROM durable_probe');
    assert.deepEqual(durabilityCounts(db), afterInsert);
  });

  test('hot (prepared) statements and transactions are synced the same way', async () => {
    const start = durabilityCounts(db)!;
    await db.query('INSERT INTO durable_probe (note) VALUES ($1)', ['prepared'], 'durableProbeInsert');
    const afterPrepared = durabilityCounts(db)!;
    assert.ok(afterPrepared.walSyncs > start.walSyncs);
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO durable_probe (note) VALUES ($1)', ['in a transaction']);
      await tx.query('INSERT INTO durable_probe (note) VALUES ($1)', ['and another']);
    });
    assert.ok(durabilityCounts(db)!.walSyncs > afterPrepared.walSyncs);
  });

  test('a checkpoint syncs the data files', async () => {
    const start = durabilityCounts(db)!;
    await db.query('INSERT INTO durable_probe (note) VALUES ($1)', ['before the checkpoint']);
    await db.query('CHECKPOINT');
    assert.ok(durabilityCounts(db)!.otherSyncs > start.otherSyncs, 'CHECKPOINT fsynced data files and pg_control');
  });
});
