import type { Queryable } from '../../db/database.js';
import { sqlFile } from '../../db/sql.js';
import { isVerifiedDomain } from '../../domains/domains.js';
import { ApiError } from '../../shared/errors.js';
import { LoadingCache } from '../../shared/loadingCache.js';
import type { ParsedAddress } from '../addresses.js';

const sql = sqlFile(new URL('./policy.sql', import.meta.url), ['senderAllowed'] as const);

/**
 * Who may appear in `from` (SPEC section 7): an address the account confirmed (POST /senders),
 * or any address of a domain it verified. Whether this applies is the installation's choice
 * (MAILROOM_REQUIRE_VERIFIED_SENDER): by default it does with every transport but the sandbox,
 * where nothing leaves the machine; and only there does an address confirmed through the sandbox
 * catcher count (with a real transport it must be confirmed again). Answers are cached briefly, since every message asks;
 * `forget` makes a change made through this process visible at once.
 */
export class SenderPolicy {
  /** Keyed by account and lower-cased address. */
  private readonly cache: LoadingCache<string, boolean>;

  constructor(
    private readonly db: Queryable,
    private readonly requireVerifiedSender: boolean,
    /** Confirmations made through the sandbox catcher count (the sandbox is the transport). */
    private readonly sandboxConfirmationsCount: boolean,
    ttlMs = 5_000,
  ) {
    this.cache = new LoadingCache({ ttlMs: () => ttlMs, maxEntries: 10_000 });
  }

  async checkSender(accountId: number, from: ParsedAddress): Promise<void> {
    if (!this.requireVerifiedSender) return;
    const address = from.address.toLowerCase();
    const verified = await this.cache.get(`${accountId}:${address}`, async () =>
      (await isVerifiedDomain(this.db, accountId, from.domain)) || (await this.db.query(sql.senderAllowed, [accountId, address, this.sandboxConfirmationsCount], 'senderAllowed')).length > 0);
    if (!verified) {
      throw new ApiError(403, 'SENDER_NOT_VERIFIED', `The sender ${from.address} is not verified for this account: confirm it (POST /senders) or verify its domain ${from.domain} (POST /domains).`, [
        { field: 'from', message: 'is not a verified sender of this account' },
      ]);
    }
  }

  forget(accountId: number): void {
    this.cache.invalidate((key) => key.startsWith(`${accountId}:`));
  }
}
