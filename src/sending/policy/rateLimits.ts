import type { Queryable } from '../../db/database.js';
import { sqlFile } from '../../db/sql.js';
import { Batcher } from '../../shared/batcher.js';
import type { Clock } from '../../shared/clock.js';
import { ApiError } from '../../shared/errors.js';

const sql = sqlFile(new URL('./rateLimits.sql', import.meta.url), ['ensureRows', 'take', 'giveBack'] as const);

/** An account's limits; 0 is no limit. */
export interface RateLimits {
  perSecond: number;
  perDay: number;
}

export interface RateRequest {
  accountId: number;
  count: number;
  limits: RateLimits;
  /** Grant what is left (a bulk request, whose messages succeed one by one) rather than all or nothing. */
  partial: boolean;
}

export interface RateGrant {
  granted: number;
  /** Set when fewer than asked were granted: the error to answer the rest with (429 / SMTP 451 4.7.1). */
  refusal: ApiError | null;
}

interface Taken {
  granted: number;
  secondUsed: number;
  dayUsed: number;
}

const DAY_SECONDS = 86_400;

/**
 * Per-account sending limits, per second and per day (SPEC section 7), counted in PostgreSQL so
 * that every API and SMTP process of an installation shares one count: exact under concurrency
 * and across processes (see `take` in rateLimits.sql). Requests that arrive together share one
 * statement (group commit), so a limited account costs one round trip per batch, not per message.
 * Accounts without limits never reach the database.
 */
export class RateLimiter {
  private readonly batcher: Batcher<RateRequest, Taken>;
  private readonly knownRows = new Set<number>();

  constructor(private readonly db: Queryable, private readonly clock: Clock) {
    this.batcher = new Batcher<RateRequest, Taken>({ maxBatch: 1000, maxConcurrent: 1, flush: (requests) => this.flush(requests) });
  }

  /** Takes `count` messages from the account's windows; what could not be granted comes with its refusal. */
  async take(request: RateRequest): Promise<RateGrant> {
    const { limits, count } = request;
    if ((limits.perSecond === 0 && limits.perDay === 0) || count === 0) return { granted: count, refusal: null };
    const taken = await this.batcher.submit(request);
    return { granted: taken.granted, refusal: taken.granted < count ? this.refusal(limits, taken, count) : null };
  }

  private async flush(requests: RateRequest[]): Promise<Taken[]> {
    const now = this.clock.now().getTime();
    const second = Math.floor(now / 1000);
    const day = Math.floor(second / DAY_SECONDS);
    const byAccount = new Map<number, RateRequest[]>();
    for (const request of requests) {
      const list = byAccount.get(request.accountId);
      if (list) list.push(request);
      else byAccount.set(request.accountId, [request]);
    }
    const accounts = [...byAccount.keys()];
    const missing = accounts.filter((id) => !this.knownRows.has(id));
    if (missing.length > 0) {
      await this.db.query(sql.ensureRows, [missing]);
      for (const id of missing) this.knownRows.add(id);
    }
    // One row per account: a batch holding several requests of one account asks for their sum,
    // as much as there is room for, and shares it out below in arrival order.
    const groups = accounts.map((id) => byAccount.get(id)!);
    const rows = await this.db.query<{ account_id: string | number; granted: number; second_used: number; day_used: number }>(sql.take, [
      accounts,
      groups.map((group) => group.reduce((sum, request) => sum + request.count, 0)),
      groups.map((group) => group[0]!.limits.perSecond),
      groups.map((group) => group[0]!.limits.perDay),
      groups.map((group) => group.length > 1 || group[0]!.partial),
      second,
      day,
    ], 'rateTake');
    const taken = new Map<number, Taken>(rows.map((row) => [Number(row.account_id), { granted: row.granted, secondUsed: row.second_used, dayUsed: row.day_used }]));
    const shares = new Map<RateRequest, Taken>();
    for (const [accountId, group] of byAccount) {
      const result = taken.get(accountId) ?? { granted: 0, secondUsed: 0, dayUsed: 0 };
      let left = result.granted;
      for (const request of group) {
        const share = request.partial ? Math.min(left, request.count) : left >= request.count ? request.count : 0;
        shares.set(request, { ...result, granted: share });
        left -= share;
      }
      if (left > 0) await this.db.query(sql.giveBack, [accountId, left, second, day]);
    }
    return requests.map((request) => shares.get(request)!);
  }

  /** 429 naming the day's window when it has no room for the rest (a retry next second would not help), else the second's. */
  private refusal(limits: RateLimits, taken: Taken, count: number): ApiError {
    const now = this.clock.now().getTime();
    const dayFull = limits.perDay > 0 && limits.perDay - taken.dayUsed < count - taken.granted;
    const [limit, window, resetAt] = !dayFull && limits.perSecond > 0
      ? [limits.perSecond, 'second', Math.floor(now / 1000) + 1]
      : [limits.perDay, 'day', (Math.floor(now / 1000 / DAY_SECONDS) + 1) * DAY_SECONDS];
    const retryAfter = Math.max(1, resetAt - Math.floor(now / 1000));
    return new ApiError(429, 'RATE_LIMITED', `This account may send ${limit} messages per ${window}; try again in ${retryAfter} s.`, [], {
      'retry-after': String(retryAfter),
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(resetAt),
    });
  }
}
