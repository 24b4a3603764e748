import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';

const sql = sqlFile(new URL('./reputation.sql', import.meta.url), ['rates', 'suspend', 'warn', 'reinstate'] as const);

/**
 * Account reputation (SPEC section 7): the hard-bounce rate and the complaint rate over a
 * sliding window, from the per-hour counts the event-log trigger keeps (migration 007). At the
 * warning threshold the account gets a REPUTATION_WARNING event (once a day); at the suspension
 * threshold, with at least the minimum volume, it is suspended with an ACCOUNT_SUSPENDED event
 * and stays so until an operator of the installation reinstates it.
 */
export interface ReputationPolicy {
  windowDays: number;
  minVolume: number;
  bounceRateWarn: number;
  bounceRateSuspend: number;
  complaintRateWarn: number;
  complaintRateSuspend: number;
}

export interface Reputation {
  status: 'active' | 'suspended';
  suspendedReason: string | null;
  suspendedAt: string | null;
  window: { since: string; days: number };
  /** Messages delivered, handed to a relay, or bounced during delivery, in the window. */
  outcomes: number;
  hardBounces: number;
  complaints: number;
  bounceRate: number;
  complaintRate: number;
  /** False while outcomes are below the minimum volume: the rates cannot warn or suspend yet. */
  enforced: boolean;
  thresholds: { minVolume: number; bounceRateWarn: number; bounceRateSuspend: number; complaintRateWarn: number; complaintRateSuspend: number };
}

interface RateRow {
  account_id: number;
  name: string;
  status: 'active' | 'suspended';
  suspended_reason: string | null;
  suspended_at: Date | string | null;
  reputation_warned_at: Date | string | null;
  since: Date | string;
  outcomes: string | number;
  hard_bounces: string | number;
  complaints: string | number;
}

const WARN_EVERY_MS = 24 * 3600 * 1000;

/**
 * `part / whole >= threshold`, decided in integers: 50 of 1,000 is exactly 5% and must suspend,
 * 49 must not, whatever the floating-point rounding of 0.05.
 */
export function atLeast(part: number, whole: number, threshold: number): boolean {
  return whole > 0 && part * 1_000_000 >= Math.round(threshold * 1_000_000) * whole;
}

function toReputation(row: RateRow, policy: ReputationPolicy): Reputation {
  const outcomes = Number(row.outcomes);
  const hardBounces = Number(row.hard_bounces);
  const complaints = Number(row.complaints);
  const { minVolume, bounceRateWarn, bounceRateSuspend, complaintRateWarn, complaintRateSuspend } = policy;
  return {
    status: row.status,
    suspendedReason: row.suspended_reason,
    suspendedAt: row.suspended_at ? new Date(row.suspended_at).toISOString() : null,
    window: { since: new Date(row.since).toISOString(), days: policy.windowDays },
    outcomes,
    hardBounces,
    complaints,
    bounceRate: outcomes > 0 ? hardBounces / outcomes : 0,
    complaintRate: outcomes > 0 ? complaints / outcomes : 0,
    enforced: outcomes >= minVolume,
    thresholds: { minVolume, bounceRateWarn, bounceRateSuspend, complaintRateWarn, complaintRateSuspend },
  };
}

export async function accountReputation(db: Queryable, accountId: number, policy: ReputationPolicy, now: Date): Promise<Reputation | null> {
  const [row] = await db.query<RateRow & Record<string, unknown>>(sql.rates, [accountId, policy.windowDays * 24, now]);
  return row ? toReputation(row, policy) : null;
}

export interface ReputationAction {
  accountId: number;
  account: string;
  action: 'suspended' | 'warned';
  reason: string;
}

/** What a rate crossing means: the rate that crossed, and the sentence the event and the account carry. */
function crossing(reputation: Reputation, level: 'warn' | 'suspend'): string | null {
  if (!reputation.enforced) return null;
  const { outcomes, hardBounces, complaints, thresholds } = reputation;
  const bounce = level === 'warn' ? thresholds.bounceRateWarn : thresholds.bounceRateSuspend;
  const complaint = level === 'warn' ? thresholds.complaintRateWarn : thresholds.complaintRateSuspend;
  const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
  if (atLeast(hardBounces, outcomes, bounce)) {
    return `bounce rate ${percent(reputation.bounceRate)} (${hardBounces} hard bounces of ${outcomes}) reached ${percent(bounce)}`;
  }
  if (atLeast(complaints, outcomes, complaint)) {
    return `complaint rate ${percent(reputation.complaintRate)} (${complaints} complaints of ${outcomes}) reached ${percent(complaint)}`;
  }
  return null;
}

/**
 * Checks every account with a hard bounce or a complaint in its window, and suspends or warns
 * those over a threshold. Safe to run in several processes at once: each action is claimed by
 * one conditional UPDATE.
 */
export async function enforceReputation(db: Queryable, policy: ReputationPolicy, now: Date): Promise<ReputationAction[]> {
  const rows = await db.query<RateRow & Record<string, unknown>>(sql.rates, [null, policy.windowDays * 24, now]);
  const actions: ReputationAction[] = [];
  for (const row of rows) {
    if (row.status !== 'active') continue;
    const reputation = toReputation(row, policy);
    const details = { outcomes: reputation.outcomes, hardBounces: reputation.hardBounces, complaints: reputation.complaints, bounceRate: reputation.bounceRate, complaintRate: reputation.complaintRate, since: reputation.window.since };
    const suspendReason = crossing(reputation, 'suspend');
    if (suspendReason) {
      const done = await db.query(sql.suspend, [row.account_id, suspendReason, now, JSON.stringify({ ...details, reason: suspendReason })]);
      if (done.length > 0) actions.push({ accountId: row.account_id, account: row.name, action: 'suspended', reason: suspendReason });
      continue;
    }
    const warnReason = crossing(reputation, 'warn');
    if (warnReason) {
      const done = await db.query(sql.warn, [row.account_id, now, JSON.stringify({ ...details, reason: warnReason }), new Date(now.getTime() - WARN_EVERY_MS)]);
      if (done.length > 0) actions.push({ accountId: row.account_id, account: row.name, action: 'warned', reason: warnReason });
    }
  }
  return actions;
}

/** An installation operator lifts a suspension; the account's rates start over. False: no such account. */
export async function reinstateAccount(db: Queryable, name: string, now: Date, by: string): Promise<boolean> {
  const rows = await db.query(sql.reinstate, [name, now, JSON.stringify({ by })]);
  return rows.length > 0;
}
