import type { Queryable } from '../../db/database.js';
import { sqlFile } from '../../db/sql.js';
import { LoadingCache } from '../../shared/loadingCache.js';
import type { RateLimits } from './rateLimits.js';

const sql = sqlFile(new URL('./policy.sql', import.meta.url), ['accountPolicy', 'setAccountPolicy', 'setRateLimits'] as const);

/** What an account's messages are held to, its own settings over the installation's defaults. */
export interface AccountPolicy {
  allowRoleAddresses: boolean;
  checkRecipientDomains: boolean;
  limits: RateLimits;
}

export interface PolicyDefaults {
  checkRecipientDomains: boolean;
  limits: RateLimits;
}

/**
 * Reads each account's policy once per few seconds (every message needs it); a change made
 * through this process is seen at once, one made elsewhere within the TTL.
 */
export class AccountPolicies {
  private readonly cache: LoadingCache<number, AccountPolicy>;

  constructor(private readonly db: Queryable, private readonly defaults: PolicyDefaults, ttlMs = 5_000) {
    this.cache = new LoadingCache({ ttlMs: () => ttlMs, maxEntries: 10_000 });
  }

  get(accountId: number): Promise<AccountPolicy> {
    return this.cache.get(accountId, () => this.read(accountId));
  }

  private async read(accountId: number): Promise<AccountPolicy> {
    const [row] = await this.db.query<{ allow_role_addresses: boolean; check_recipient_domains: boolean | null; rate_per_second: number | null; rate_per_day: number | null }>(
      sql.accountPolicy, [accountId], 'accountPolicy',
    );
    return {
      allowRoleAddresses: row?.allow_role_addresses ?? false,
      checkRecipientDomains: row?.check_recipient_domains ?? this.defaults.checkRecipientDomains,
      limits: {
        perSecond: row?.rate_per_second ?? this.defaults.limits.perSecond,
        perDay: row?.rate_per_day ?? this.defaults.limits.perDay,
      },
    };
  }

  async update(accountId: number, change: { allowRoleAddresses?: boolean | undefined; checkRecipientDomains?: boolean | undefined }): Promise<void> {
    await this.db.query(sql.setAccountPolicy, [accountId, change.allowRoleAddresses ?? null, change.checkRecipientDomains ?? null]);
    this.cache.invalidate((key) => key === accountId);
  }
}

/** The installation operator's command: an account's limits (null keeps one, -1 returns it to the default). */
export async function setRateLimits(db: Queryable, accountName: string, perSecond: number | null, perDay: number | null) {
  const [row] = await db.query<{ id: number; rate_per_second: number | null; rate_per_day: number | null }>(sql.setRateLimits, [accountName, perSecond, perDay]);
  return row ?? null;
}
