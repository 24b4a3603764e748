import { hostname } from 'node:os';
import type { Database, HeldLock } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { Clock } from '../shared/clock.js';
import { randomToken } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';

const sql = sqlFile(new URL('./workers.sql', import.meta.url), ['register', 'unregister', 'recoverDead', 'releaseAllLanes'] as const);

/** Namespace of the advisory locks that mark live workers ("MR"). */
const LOCK_NAMESPACE = 0x4d52;

export interface Recovered {
  workers: number;
  messages: number;
  lanes: number;
  /** Campaigns the dead workers were feeding. */
  campaigns: number;
}

/**
 * Who holds a lease. A process that dies in the middle of deliveries must not make its messages
 * wait out their lease (minutes) before another process, or its own restart, sends them: Postfix
 * picks its queue up again within seconds of a crash, and so must Mailroom.
 *
 * Each worker process gets a random id, holds a session advisory lock on it for as long as it
 * lives, and writes its id in front of every lease token it takes. The database frees the lock
 * the moment the process's connection closes, so "the lock can be taken" means "the process is
 * gone": every live worker looks for such ids at start and every few seconds after, and hands
 * their leases back in one statement (queue rows due now, webhook lanes free). A worker that is
 * merely slow keeps its lock, and its leases, however long its deliveries take.
 *
 * On embedded PGlite one process owns the data directory, so every lease found at start is a
 * dead process's and is handed back then (Queue.releaseAll and releaseAllLanes).
 */
export class WorkerIdentity {
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  private constructor(
    readonly id: string,
    private readonly db: Database,
    private readonly lock: HeldLock,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Registers this process, with a lock on an id no live worker uses. */
  static async register(db: Database, clock: Clock, log: Logger): Promise<WorkerIdentity> {
    for (let attempt = 0; attempt < 10; attempt++) {
      // base64url: never a ".", which separates the id from the rest of a lease token.
      const id = `w${randomToken(9)}`;
      // The lock first, then the row: a row without its lock would look dead to the others.
      const lock = await db.holdLock(LOCK_NAMESPACE, id);
      if (!lock) continue; // another live worker's id hashes to the same lock
      if (db.kind === 'pglite') await db.query(sql.releaseAllLanes);
      else await db.query(sql.register, [id, hostname(), process.pid, clock.now()]);
      return new WorkerIdentity(id, db, lock, clock, log);
    }
    throw new Error('could not take a worker lock: ten ids in a row collided with live workers');
  }

  /** A lease token of this worker. */
  leaseToken(): string {
    return `${this.id}.${randomToken(12)}`;
  }

  /** Hands back the leases of every dead worker; `onRecovered` hears when there were some. */
  async recoverDead(): Promise<Recovered> {
    if (this.db.kind === 'pglite') return { workers: 0, messages: 0, lanes: 0, campaigns: 0 };
    // Also writes this worker's own row again, should a dropped connection have let another
    // process take it for dead and delete it.
    await this.db.query(sql.register, [this.id, hostname(), process.pid, this.clock.now()]);
    const [row] = await this.db.query<Recovered & Record<string, unknown>>(sql.recoverDead, [this.id, this.clock.now(), LOCK_NAMESPACE]);
    const recovered = { workers: Number(row?.workers ?? 0), messages: Number(row?.messages ?? 0), lanes: Number(row?.lanes ?? 0), campaigns: Number(row?.campaigns ?? 0) };
    if (recovered.workers > 0) this.log.info(recovered, 'handed back the leases of workers that died');
    return recovered;
  }

  /** Checks for dead workers every `intervalMs`, calling `onRecovered` when leases came back. */
  start(intervalMs: number, onRecovered: () => void): void {
    if (this.db.kind === 'pglite') return;
    this.timer = setInterval(() => {
      this.checking ??= this.recoverDead()
        .then((recovered) => {
          if (recovered.messages > 0 || recovered.lanes > 0) onRecovered();
        })
        .catch((error: unknown) => this.log.error({ err: error }, 'could not look for dead workers'))
        .finally(() => (this.checking = null));
    }, intervalMs);
    this.timer.unref();
  }

  /** After the leases are handed back (a clean stop): the row and the lock go. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.checking;
    if (this.db.kind === 'postgres') await this.db.query(sql.unregister, [this.id]).catch(() => {});
    await this.lock.release();
  }
}
