import type { Queryable } from '../../db/database.js';
import { sqlFile } from '../../db/sql.js';
import { isVerifiedDomain } from '../../domains/domains.js';
import { ApiError } from '../../shared/errors.js';
import type { ParsedAddress } from '../addresses.js';

const sql = sqlFile(new URL('./policy.sql', import.meta.url), ['senderAllowed'] as const);

/**
 * Who may appear in `from` (SPEC section 7): an address the account confirmed (POST /senders),
 * or any address of a domain it verified. Whether this applies is the installation's choice
 * (MAILROOM_REQUIRE_VERIFIED_SENDER): by default it does with every transport but the sandbox,
 * where nothing leaves the machine. Answers are cached briefly, since every message asks;
 * `forget` makes a change made through this process visible at once.
 */
export class SenderPolicy {
  private cache = new Map<string, { verified: boolean; until: number }>();

  constructor(
    private readonly db: Queryable,
    private readonly requireVerifiedSender: boolean,
    private readonly ttlMs = 5_000,
  ) {}

  async checkSender(accountId: number, from: ParsedAddress): Promise<void> {
    if (!this.requireVerifiedSender) return;
    const address = from.address.toLowerCase();
    const cacheKey = `${accountId}:${address}`;
    const now = Date.now();
    let entry = this.cache.get(cacheKey);
    if (!entry || entry.until <= now) {
      const verified = (await isVerifiedDomain(this.db, accountId, from.domain)) || (await this.db.query(sql.senderAllowed, [accountId, address], 'senderAllowed')).length > 0;
      entry = { verified, until: now + this.ttlMs };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(cacheKey, entry);
    }
    if (!entry.verified) {
      throw new ApiError(403, 'SENDER_NOT_VERIFIED', `The sender ${from.address} is not verified for this account: confirm it (POST /senders) or verify its domain ${from.domain} (POST /domains).`, [
        { field: 'from', message: 'is not a verified sender of this account' },
      ]);
    }
  }

  forget(accountId: number): void {
    for (const key of this.cache.keys()) if (key.startsWith(`${accountId}:`)) this.cache.delete(key);
  }
}
