import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Batcher } from '../shared/batcher.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { AuditChain, type AuditFields } from './chain.js';

const sql = sqlFile(new URL('./audit.sql', import.meta.url), ['lockHeads', 'appendEntries', 'page', 'heads', 'chainAccounts', 'takePending', 'anyPending'] as const);

/** What happened, by whom, from where, and how it ended: ids and codes only, never content. */
export interface AuditEvent {
  accountId: number;
  /** 'key:12', 'smtp-credential:3', 'cli' ... */
  actor: string;
  operator: string | null;
  /** 'POST /emails', 'SMTP AUTH', 'SMTP DATA', 'cli accounts suspend' ... */
  action: string;
  /** Ids the action named or made (a message id, a webhook id), never content. */
  target: string | null;
  remoteAddress: string | null;
  outcome: 'ok' | 'refused' | 'failed';
  /** The HTTP status or the SMTP reply code, and the error code when refused. */
  status: string | null;
}

/**
 * An entry that the statement doing its action writes itself (audit_pending, migration 024):
 * the action and its entry commit together, and the log chains the entry soon after.
 */
export interface PendingAuditEntry extends AuditEvent {
  /** ISO 8601 with milliseconds: when the action was done, kept as the chained entry's time. */
  at: string;
}

export interface AuditEntry extends Omit<AuditEvent, 'accountId'> {
  seq: number;
  at: string;
  keyId: string;
  prevHash: string;
  hash: string;
}

interface EntryRow extends Record<string, unknown> {
  seq: number | string;
  at: Date | string;
  actor: string;
  operator: string | null;
  action: string;
  target: string | null;
  remote_address: string | null;
  outcome: AuditEvent['outcome'];
  status: string | null;
  key_id: string;
  prev_hash: string;
  hash: string;
}

function entryOf(row: EntryRow): AuditEntry {
  return {
    seq: Number(row.seq), at: new Date(row.at).toISOString(), actor: row.actor, operator: row.operator, action: row.action, target: row.target,
    remoteAddress: row.remote_address, outcome: row.outcome, status: row.status, keyId: row.key_id, prevHash: row.prev_hash, hash: row.hash,
  };
}

/** How many waiting rows (each a storing statement's entries) one chaining transaction takes. */
const PENDING_BATCH = 100;
/** A poke waits this long before chaining, so that one transaction chains what a burst wrote. */
const CHAIN_DELAY_MS = 20;
/** How often a process looks for entries left waiting (by a process that stopped before chaining them). */
const SWEEP_MS = 10_000;

interface HeadRow extends Record<string, unknown> {
  account_id: number | string;
  seq: number | string;
  hash: string;
}

/** One entry in audit_pending.entries, as the storing statement wrote it (src/sending/store.ts). */
export interface PendingEntryJson {
  account_id: number;
  at: string;
  actor: string;
  operator: string | null;
  action: string;
  target: string | null;
  remote_address: string | null;
  outcome: AuditEvent['outcome'];
  status: string | null;
}

interface PendingRow extends Record<string, unknown> {
  id: number | string;
  entries: PendingEntryJson[];
}

/** An entry as audit_pending keeps it. */
export function pendingEntryJson(entry: PendingAuditEntry): PendingEntryJson {
  return {
    account_id: entry.accountId, at: entry.at, actor: entry.actor, operator: entry.operator, action: entry.action, target: entry.target,
    remote_address: entry.remoteAddress, outcome: entry.outcome, status: entry.status,
  };
}

/**
 * The audit log (docs/HIPAA.md). An entry reaches it in one of two ways:
 * - `record`: appended before the action is answered, for actions that write nothing else
 *   (refusals, reads, SMTP and operator commands). Entries that arrive together share one
 *   transaction (group commit).
 * - written by the action's own statement into audit_pending (a HIPAA send: its messages and
 *   its entry commit together, one commit per answer), then moved onto the chain by
 *   `chainPending`, a moment later, in a transaction of its own.
 * Either way each account's chain head is locked, the entries are chained after it in order,
 * and the head moves, so processes writing the same account's chain take turns and never fork it.
 */
export class AuditLog {
  private readonly batcher: Batcher<AuditEvent, void>;
  /** The chaining runs of this process, one after the other. */
  private chaining: Promise<void> = Promise.resolve();
  private chainTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Database, private readonly chain: AuditChain, private readonly clock: Clock, private readonly log: Logger | null = null) {
    this.batcher = new Batcher<AuditEvent, void>({ maxBatch: 500, maxConcurrent: 1, flush: (events) => this.flush(events) });
  }

  record(event: AuditEvent): Promise<void> {
    return this.batcher.submit(event);
  }

  /** An action wrote its entry (audit_pending): chain it shortly, with whatever else arrives meanwhile. */
  chainSoon(): void {
    if (this.chainTimer) return;
    this.chainTimer = setTimeout(() => {
      this.chainTimer = null;
      void this.chainPending().catch((error: unknown) => this.log?.error({ err: error }, 'audit: waiting entries could not be chained; the next sweep retries'));
    }, CHAIN_DELAY_MS);
  }

  /** Looks for waiting entries now and then: those of a process that stopped before it chained them. */
  startSweeping(): void {
    this.chainSoon();
    this.sweepTimer ??= setInterval(() => {
      void this.db.query<{ pending: boolean }>(sql.anyPending).then(([row]) => {
        if (row?.pending) this.chainSoon();
      }, (error: unknown) => this.log?.warn({ err: error }, 'audit: could not look for waiting entries'));
    }, SWEEP_MS);
    this.sweepTimer.unref();
  }

  /**
   * Moves every waiting entry onto its chain. Resolves once the entries that were waiting when
   * it was called are chained (by this call, or by another process that had them locked).
   */
  chainPending(): Promise<void> {
    const run = this.chaining.then(async () => {
      for (;;) {
        if ((await this.chainBatch()) < PENDING_BATCH) break;
      }
    });
    this.chaining = run.catch(() => undefined);
    return run;
  }

  /** Everything recorded and waiting is on the chain; sweeping stops. */
  async drain(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.chainTimer) clearTimeout(this.chainTimer);
    this.chainTimer = null;
    await this.batcher.drain();
    await this.chainPending();
  }

  /**
   * The entries waiting when a batch of recorded ones arrives go on the chain first, so that
   * an account's chain keeps the order in which one client's actions were answered (a send,
   * then a read of what it sent).
   */
  private async flush(events: AuditEvent[]): Promise<void[]> {
    const at = this.clock.now().toISOString();
    const rowsTaken = await this.db.transaction(async (tx) => {
      const taken = await this.takePending(tx);
      await this.append(tx, [...taken.entries, ...events.map((event) => ({ ...event, at }))]);
      return taken.rows;
    });
    if (rowsTaken === PENDING_BATCH) this.chainSoon();
    return events.map(() => undefined);
  }

  private chainBatch(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const taken = await this.takePending(tx);
      await this.append(tx, taken.entries);
      return taken.rows;
    });
  }

  /**
   * Up to a batch of waiting rows, oldest first, off the waiting table, and their entries in
   * order (the caller's transaction chains them). Locks them before any head.
   */
  private async takePending(tx: Queryable): Promise<{ rows: number; entries: PendingAuditEntry[] }> {
    const taken = await tx.query<PendingRow>(sql.takePending, [PENDING_BATCH]);
    const entries = taken.sort((a, b) => Number(a.id) - Number(b.id)).flatMap((row) => row.entries.map((entry) => ({
      accountId: Number(entry.account_id), at: entry.at, actor: entry.actor, operator: entry.operator, action: entry.action, target: entry.target,
      remoteAddress: entry.remote_address, outcome: entry.outcome, status: entry.status,
    })));
    return { rows: taken.length, entries };
  }

  /** Chains the entries, in order, after their accounts' heads (locked until the caller's transaction ends). */
  private async append(tx: Queryable, entries: readonly PendingAuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const accounts = [...new Set(entries.map((entry) => entry.accountId))].sort((a, b) => a - b);
    const heads = new Map((await tx.query<HeadRow>(sql.lockHeads, [accounts])).map((row) => [Number(row.account_id), { seq: Number(row.seq), hash: row.hash }]));
    const rows = entries.map((entry) => {
      const head = heads.get(entry.accountId)!;
      const fields: AuditFields = { ...entry, seq: head.seq + 1, prevHash: head.hash };
      const hash = this.chain.hash(fields)!;
      heads.set(entry.accountId, { seq: fields.seq, hash });
      return {
        account_id: entry.accountId, seq: fields.seq, at: entry.at, actor: entry.actor, operator: entry.operator, action: entry.action, target: entry.target,
        remote_address: entry.remoteAddress, outcome: entry.outcome, status: entry.status, key_id: this.chain.currentKeyId, prev_hash: fields.prevHash, hash,
      };
    });
    await tx.query(sql.appendEntries, [JSON.stringify(rows)]);
  }
}

/** An account's entries, oldest first, after position `after`. */
export async function auditPage(db: Queryable, accountId: number, after: number, limit: number): Promise<AuditEntry[]> {
  return (await db.query<EntryRow>(sql.page, [accountId, after, limit])).map(entryOf);
}

export interface ChainProblem {
  accountId: number;
  seq: number;
  problem: string;
}

/**
 * Walks every chain (or one account's) and names each break: a row whose MAC does not match its
 * fields (edited), a position missing or a previous hash that is not the previous row's (deleted
 * or inserted), a chain that ends before its head (cut off), or a key the ring no longer has.
 */
export async function verifyAudit(db: Queryable, chain: AuditChain, accountId: number | null = null): Promise<{ accounts: number; entries: number; problems: ChainProblem[] }> {
  const heads = new Map((await db.query<{ account_id: number | string; seq: number | string; hash: string }>(sql.heads))
    .map((row) => [Number(row.account_id), { seq: Number(row.seq), hash: row.hash }]));
  const logged = (await db.query<{ account_id: number | string }>(sql.chainAccounts)).map((row) => Number(row.account_id));
  const accounts = [...new Set([...heads.keys(), ...logged])].filter((id) => accountId === null || id === accountId).sort((a, b) => a - b);
  const problems: ChainProblem[] = [];
  let entries = 0;
  for (const account of accounts) {
    let expectedSeq = 1;
    let prevHash = '';
    for (;;) {
      const page = await auditPage(db, account, expectedSeq - 1, 1000);
      for (const entry of page) {
        entries++;
        if (entry.seq !== expectedSeq) problems.push({ accountId: account, seq: expectedSeq, problem: `entries ${expectedSeq} to ${entry.seq - 1} are missing (deleted)` });
        if (entry.prevHash !== prevHash) problems.push({ accountId: account, seq: entry.seq, problem: 'its previous hash is not the hash of the entry before it (an entry was deleted or inserted)' });
        const expected = chain.hash({ accountId: account, ...entry }, entry.keyId);
        if (expected === null) problems.push({ accountId: account, seq: entry.seq, problem: `its key ${entry.keyId} is not in the key ring (MAILROOM_ENCRYPTION_KEYS_PREVIOUS)` });
        else if (expected !== entry.hash) problems.push({ accountId: account, seq: entry.seq, problem: 'its fields do not match its hash (the entry was edited)' });
        expectedSeq = entry.seq + 1;
        prevHash = entry.hash;
      }
      if (page.length < 1000) break;
    }
    const head = heads.get(account);
    if (!head) problems.push({ accountId: account, seq: expectedSeq - 1, problem: 'the chain has no head (audit_heads row deleted)' });
    else if (head.seq !== expectedSeq - 1 || head.hash !== prevHash) {
      problems.push({ accountId: account, seq: head.seq, problem: `the chain ends at entry ${expectedSeq - 1} but its head is entry ${head.seq} (entries were cut off the end)` });
    }
  }
  return { accounts: accounts.length, entries, problems };
}
