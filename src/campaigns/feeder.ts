import type { Principal } from '../accounts/apiKeys.js';
import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { countAudience, selectAudience, type AudienceContact, type AudienceSpec } from '../lists/audience.js';
import type { SendPipeline } from '../sending/pipeline.js';
import type { NewMessage } from '../sending/store.js';
import type { Clock } from '../shared/clock.js';
import { MAX_BATCH_BYTES } from '../shared/batcher.js';
import { ApiError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { campaignOf, principalRow, type Campaign, type CampaignRow } from './campaigns.js';
import { messageFor } from './content.js';
import { Pacer } from './pacing.js';

const sql = sqlFile(new URL('./feeder.sql', import.meta.url), [
  'claim', 'setTotal', 'renew', 'holdForPage', 'recordLedger', 'markRejected', 'advance', 'finish', 'pauseWithError', 'release', 'backlog',
] as const);

export interface FeederOptions {
  /** How often to look for campaigns to feed (another process may have started one). */
  pollMs: number;
  /** Contacts read and stored per transaction. */
  pageSize: number;
  /** Without a rate of its own, a campaign tops the queue's due messages up to this many. */
  backlogLimit: number;
  /** How far ahead a paced campaign stores its messages' due times. */
  horizonMs: number;
  leaseMs: number;
  /** Campaigns fed at once by this process. */
  maxCampaigns: number;
}

export const DEFAULT_FEEDER_OPTIONS: FeederOptions = { pollMs: 1_000, pageSize: 500, backlogLimit: 5_000, horizonMs: 2_000, leaseMs: 60_000, maxCampaigns: 4 };

/** Refusals that concern one recipient: the contact is refused in the ledger and the campaign goes on. */
const RECIPIENT_CODES = new Set(['ROLE_ADDRESS_NOT_ALLOWED', 'RECIPIENT_DOMAIN_INVALID', 'RECIPIENT_SUPPRESSED', 'PLACEHOLDER_MISSING']);

function concernsRecipient(error: ApiError): boolean {
  if (RECIPIENT_CODES.has(error.code)) return true;
  // A malformed address or a placeholder value the message cannot hold (a line break in the subject).
  return error.code === 'VALIDATION_ERROR' && error.details.length > 0
    && error.details.every((detail) => detail.field === 'to' || detail.field.startsWith('placeholders.'));
}

interface Candidate {
  contact: AudienceContact;
  suppressed: boolean;
}

interface LedgerRow {
  contact_id: number;
  message_id: string | null;
  outcome: 'queued' | 'refused';
  refusal: string | null;
}

/**
 * The campaign door (docs/CAMPAIGNS.md): with the worker role, each process claims running
 * campaigns nobody feeds (a lease) and turns their audience into messages through the one send
 * pipeline, a page of contacts per transaction: the page's ledger rows, its messages and the
 * campaign's cursor and counts commit together, so that a crash anywhere resumes at the last
 * committed page and no contact is mailed twice (the ledger's key also stops a second feeder).
 * The account's rate limits pace it (it waits, it never fails), as does its own rate; without one
 * it keeps the queue topped up rather than writing millions of messages at start.
 */
export class CampaignFeeder {
  private timer: NodeJS.Timeout | null = null;
  private readonly feeding = new Map<string, Promise<void>>();
  private claiming: Promise<void> | null = null;
  private stopping = false;
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly deps: { db: Database; pipeline: SendPipeline; clock: Clock; log: Logger; leaseToken: () => string },
    private readonly options: FeederOptions = DEFAULT_FEEDER_OPTIONS,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.poke(), this.options.pollMs);
    this.timer.unref();
    this.poke();
  }

  /** Looks for campaigns to feed now (a campaign started through this process's API, say). */
  poke(): void {
    if (this.stopping) return;
    this.claiming ??= this.claim()
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'campaigns: claiming failed'))
      .finally(() => {
        this.claiming = null;
      });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    for (const wake of this.sleepers) wake();
    await this.claiming;
    await Promise.all(this.feeding.values());
  }

  private async claim(): Promise<void> {
    const free = this.options.maxCampaigns - this.feeding.size;
    if (free <= 0) return;
    const now = this.deps.clock.now();
    const rows = await this.deps.db.query<CampaignRow & { lease_token: string }>(sql.claim, [this.deps.leaseToken(), now, this.leaseUntil(), free, [...this.feeding.keys()]]);
    for (const row of rows) {
      const feed = this.feed(row)
        .catch(async (error: unknown) => {
          this.deps.log.error({ err: error, campaignId: row.id }, 'campaigns: feeding failed; it is taken up again');
          await this.sleep(2_000);
        })
        .finally(async () => {
          await this.deps.db.query(sql.release, [row.lease_token, row.id]).catch(() => {});
          if (this.feeding.get(row.id) === feed) this.feeding.delete(row.id);
        });
      this.feeding.set(row.id, feed);
    }
  }

  private leaseUntil(): Date {
    return new Date(this.deps.clock.now().getTime() + this.options.leaseMs);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async feed(row: CampaignRow & { lease_token: string }): Promise<void> {
    const { db, clock, log } = this.deps;
    const token = row.lease_token;
    const campaign = campaignOf(row);
    const accountId = Number(row.account_id);
    const spec: AudienceSpec = { lists: campaign.lists, excludeLists: campaign.excludeLists, asOf: new Date(row.audience_at!) };
    if (row.total === null) {
      const total = await countAudience(db, accountId, spec, spec.asOf!);
      if ((await db.query(sql.setTotal, [token, row.id, total, this.leaseUntil()])).length === 0) return;
    }
    log.info({ campaignId: row.id, cursor: Number(row.cursor) }, 'campaigns: feeding');
    const pacer = campaign.ratePerMinute === null ? null : new Pacer(campaign.ratePerMinute, clock.now().getTime());
    let cursor = Number(row.cursor);
    let principal: { value: Principal; readAt: number } | null = null;
    let renewedAt = clock.now().getTime();
    // The bytes of one message, first guessed from the content, then as stored.
    let messageBytes = 1024 + (campaign.subject?.length ?? 0) + (campaign.html?.length ?? 0) * 2 + (campaign.text?.length ?? 0);
    // Waits (a rate, a full queue), renewing the lease at most once a second; false: the
    // campaign is no longer this feeder's to feed (paused, canceled, deleted).
    const idle = async (ms: number): Promise<boolean> => {
      await this.sleep(Math.max(10, Math.min(ms, 1_000)));
      const now = clock.now().getTime();
      if (now - renewedAt < 1_000) return true;
      renewedAt = now;
      return (await db.query(sql.renew, [token, row.id, this.leaseUntil()])).length > 0;
    };

    while (!this.stopping) {
      const now = clock.now().getTime();
      let size = this.options.pageSize;
      if (pacer) {
        size = pacer.available(now, this.options.horizonMs, size);
        if (size === 0) {
          if (!(await idle(pacer.waitMs(now, this.options.horizonMs)))) return;
          continue;
        }
      } else {
        const [{ n: backlog } = { n: 0 }] = await db.query<{ n: number }>(sql.backlog, [new Date(now), this.options.backlogLimit], 'campaignBacklog');
        // Waits until the backlog is down to half, then writes whole pages: topping it up as it
        // drained wrote pages of about a hundred contacts, five times the transactions.
        if (backlog > this.options.backlogLimit / 2) {
          if (!(await idle(100))) return;
          continue;
        }
        size = Math.min(size, this.options.backlogLimit - backlog);
      }
      if (!principal || now - principal.readAt > 5_000) {
        const found = await principalRow(db, accountId, Number(row.operator_id));
        if (!found) {
          await this.pause(token, row.id, new ApiError(403, 'OPERATOR_NOT_FOUND', 'The operator who created this campaign no longer exists.'));
          return;
        }
        principal = {
          readAt: now,
          value: {
            keyId: null, accountId, accountName: found.account_name, accountStatus: found.account_status, accountHipaa: found.account_hipaa, scopes: null,
            operatorId: Number(found.operator_id), operatorName: found.operator_name,
          },
        };
      }
      // A page's messages are one statement: at most MAX_BATCH_BYTES of content, as the API's
      // batches (PGlite needs many times a statement's size in memory to run it).
      size = Math.max(1, Math.min(size, Math.floor(MAX_BATCH_BYTES / messageBytes)));
      const page = await selectAudience(db, accountId, spec, cursor, size);
      const candidates: Candidate[] = [
        ...page.contacts.map((contact) => ({ contact, suppressed: false })),
        ...page.suppressed.map((contact) => ({ contact, suppressed: true })),
      ].sort((a, b) => a.contact.id - b.contact.id);
      const deliverable = page.contacts.length;
      let granted = deliverable;
      if (deliverable > 0) {
        const reserved = await this.deps.pipeline.reserve(accountId, deliverable);
        granted = reserved.granted;
        if (granted === 0) {
          if (!(await idle(reserved.retryAfterSeconds * 1000))) return;
          continue;
        }
      }
      // The candidates up to the last one the rate granted; the rest are read again next time.
      let end = candidates.length;
      for (let index = 0, taken = 0; index < candidates.length; index++) {
        if (candidates[index]!.suppressed) continue;
        if (taken === granted) {
          end = index;
          break;
        }
        taken++;
      }
      let chosen = candidates.slice(0, end);
      const built = await this.build(campaign, principal.value, chosen, pacer);
      if ('error' in built) {
        await this.pause(token, row.id, built.error);
        return;
      }
      if (built.rows.length > 0) messageBytes = Math.max(1, Math.ceil(built.rows.reduce((sum, message) => sum + message.size, 0) / built.rows.length));
      // The contacts whose messages did not fit the statement are read again next time.
      chosen = chosen.slice(0, built.ledger.length);
      const cut = chosen.length < candidates.length;
      const nextCursor = cut ? chosen.at(-1)!.contact.id : (page.next ?? Math.max(cursor, candidates.at(-1)?.contact.id ?? cursor));
      const stored = await this.store(token, row.id, built.ledger, built.rows, nextCursor);
      if (!stored) return;
      this.deps.pipeline.stored(stored.queued, stored.messages);
      cursor = nextCursor;
      if (!cut && page.next === null) {
        await db.query(sql.finish, [token, row.id, clock.now()]);
        log.info({ campaignId: row.id }, 'campaigns: finished feeding');
        return;
      }
    }
  }

  /**
   * Each chosen contact's message, prepared by the pipeline, until MAX_BATCH_BYTES of content (the
   * ledger then covers a prefix of `chosen`); a refusal of the whole campaign stops the page.
   */
  private async build(campaign: Campaign, principal: Principal, chosen: readonly Candidate[], pacer: Pacer | null): Promise<{ rows: NewMessage[]; ledger: LedgerRow[] } | { error: ApiError }> {
    const rows: NewMessage[] = [];
    const ledger: LedgerRow[] = [];
    let bytes = 0;
    for (const { contact, suppressed } of chosen) {
      try {
        const prepared = await this.deps.pipeline.prepare(principal, messageFor(campaign, contact, { counted: true }), null);
        if (rows.length > 0 && bytes + prepared.row.size > MAX_BATCH_BYTES) break;
        bytes += prepared.row.size;
        // A suppressed address is stored REJECTED by the store and takes no slot of the rate.
        if (pacer && !suppressed) prepared.row.due_at = new Date(pacer.take(this.deps.clock.now().getTime())).toISOString();
        rows.push(prepared.row);
        ledger.push({ contact_id: contact.id, message_id: prepared.row.id, outcome: 'queued', refusal: null });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (!concernsRecipient(error)) return { error };
        ledger.push({ contact_id: contact.id, message_id: null, outcome: 'refused', refusal: error.code });
      }
    }
    return { rows, ledger };
  }

  /**
   * One page in one transaction: the campaign still ours and running (its row locked, so a
   * pause waits for the page), the ledger rows not there yet, their messages, the cursor and the
   * counts. Null: the campaign was paused, canceled or taken over, and nothing was written.
   */
  private async store(token: string, id: string, ledger: LedgerRow[], rows: NewMessage[], nextCursor: number): Promise<{ queued: number; messages: number } | null> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      const [held] = await tx.query<{ seq: number | string }>(sql.holdForPage, [token, id]);
      if (!held) return null;
      const seq = Number(held.seq);
      const fresh = ledger.length === 0 ? new Set<number>()
        : new Set((await tx.query<{ contact_id: number | string }>(sql.recordLedger, [seq, JSON.stringify(ledger), now])).map((entry) => Number(entry.contact_id)));
      const freshIds = new Set(ledger.filter((entry) => fresh.has(entry.contact_id) && entry.message_id !== null).map((entry) => entry.message_id));
      const toStore = rows.filter((message) => freshIds.has(message.id));
      const result = toStore.length > 0 ? await this.deps.pipeline.storeInTransaction(tx, toStore) : { queued: 0, rejected: [] };
      if (result.rejected.length > 0) await tx.query(sql.markRejected, [seq, result.rejected.map((entry) => entry.id)]);
      const refused = ledger.filter((entry) => fresh.has(entry.contact_id) && entry.message_id === null).length;
      const rejected = result.rejected.length;
      await tx.query(sql.advance, [token, id, nextCursor, fresh.size, toStore.length - rejected, rejected, refused, this.leaseUntil(), now]);
      return { queued: toStore.length - rejected, messages: toStore.length };
    });
  }

  private async pause(token: string, id: string, error: ApiError): Promise<void> {
    this.deps.log.warn({ campaignId: id, code: error.code }, 'campaigns: paused, the pipeline refuses the campaign itself');
    await this.deps.db.query(sql.pauseWithError, [token, id, JSON.stringify({ code: error.code, message: error.message }), this.deps.clock.now()]);
  }
}
