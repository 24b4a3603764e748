import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { Batcher } from '../shared/batcher.js';
import type { Clock } from '../shared/clock.js';
import { AuditChain, type AuditFields } from './chain.js';

const sql = sqlFile(new URL('./audit.sql', import.meta.url), ['lockHeads', 'appendEntries', 'page', 'heads', 'chainAccounts'] as const);

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

/**
 * The audit log (docs/HIPAA.md): appended before the action is answered, so that an answer the
 * client saw is on record. Entries that arrive together share one transaction (group commit):
 * each account's chain head is locked, the entries are chained after it in arrival order, and
 * the head moves, so processes writing the same account's chain take turns and never fork it.
 */
export class AuditLog {
  private readonly batcher: Batcher<AuditEvent, void>;

  constructor(private readonly db: Database, private readonly chain: AuditChain, private readonly clock: Clock) {
    this.batcher = new Batcher<AuditEvent, void>({ maxBatch: 500, maxConcurrent: 1, flush: (events) => this.flush(events) });
  }

  record(event: AuditEvent): Promise<void> {
    return this.batcher.submit(event);
  }

  async drain(): Promise<void> {
    await this.batcher.drain();
  }

  private async flush(events: AuditEvent[]): Promise<void[]> {
    const at = this.clock.now().toISOString();
    const accounts = [...new Set(events.map((event) => event.accountId))].sort((a, b) => a - b);
    await this.db.transaction(async (tx) => {
      const heads = new Map((await tx.query<{ account_id: number | string; seq: number | string; hash: string }>(sql.lockHeads, [accounts]))
        .map((row) => [Number(row.account_id), { seq: Number(row.seq), hash: row.hash }]));
      const rows = events.map((event) => {
        const head = heads.get(event.accountId)!;
        const fields: AuditFields = { ...event, seq: head.seq + 1, at, prevHash: head.hash };
        const hash = this.chain.hash(fields)!;
        heads.set(event.accountId, { seq: fields.seq, hash });
        return {
          account_id: event.accountId, seq: fields.seq, at, actor: event.actor, operator: event.operator, action: event.action, target: event.target,
          remote_address: event.remoteAddress, outcome: event.outcome, status: event.status, key_id: this.chain.currentKeyId, prev_hash: fields.prevHash, hash,
        };
      });
      await tx.query(sql.appendEntries, [JSON.stringify(rows)]);
    });
    return events.map(() => undefined);
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
