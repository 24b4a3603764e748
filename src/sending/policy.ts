import type { Queryable } from '../db/database.js';
import { isVerifiedDomain } from '../domains/domains.js';
import { ApiError } from '../shared/errors.js';
import type { ParsedAddress } from './addresses.js';

/**
 * Who may appear in `from`. With the sandbox transport nothing leaves the machine, so any sender
 * is accepted; with a real transport the sender's domain must be verified for the account.
 * Answers are cached briefly: this runs on every message.
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
    const cacheKey = `${accountId}:${from.domain}`;
    const now = Date.now();
    let entry = this.cache.get(cacheKey);
    if (!entry || entry.until <= now) {
      entry = { verified: await isVerifiedDomain(this.db, accountId, from.domain), until: now + this.ttlMs };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(cacheKey, entry);
    }
    if (!entry.verified) {
      throw new ApiError(403, 'SENDER_NOT_VERIFIED', `The sender ${from.address} is not verified: its domain ${from.domain} is not a verified domain of this account.`, [
        { field: 'from', message: 'is not a verified sender of this account' },
      ]);
    }
  }
}
