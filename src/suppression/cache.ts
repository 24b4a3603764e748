import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { normalizeAddress, type SuppressionChecker } from './suppressions.js';

const sql = sqlFile(new URL('./suppressions.sql', import.meta.url), ['addressesOfAccount'] as const);

/** An account whose list is longer is not copied: its RCPT checks ask the database. */
const MAX_COPIED = 200_000;
export const SUPPRESSIONS_CHANNEL = 'mailroom_suppressions';

interface Copy {
  addresses: Set<string> | null;
  /** Longer than MAX_COPIED when last read: asked of the database from then on. */
  tooLarge: boolean;
  /** A change was announced since the copy was read: read it again before the next answer. */
  stale: boolean;
  loading: Promise<void> | null;
}

/**
 * An in-memory copy of each account's suppression list, for the check at SMTP RCPT TO. A look-up
 * per recipient in the session's critical path cost PGlite about 30% of its SMTP rate (one
 * statement per RCPT on its one connection); the copy answers from memory. Every change to the
 * table NOTIFYs its account (migration 007), which marks the copy stale: the next check reads
 * the list again. This process's own API writes mark it at once (`invalidate`), so a suppression
 * added here is refused at the very next RCPT. In the moment between a change in another process
 * and its notification, an address may still pass RCPT; the statement that stores the message
 * reads the table itself (src/sending/messages.sql) and stores it REJECTED, so it is never sent.
 */
export class SuppressionCache {
  private readonly copies = new Map<number, Copy>();
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly db: Database, private readonly fallback: SuppressionChecker) {}

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(SUPPRESSIONS_CHANNEL, (payload) => this.invalidate(Number(payload)));
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = null;
  }

  invalidate(accountId: number): void {
    const copy = this.copies.get(accountId);
    if (copy) copy.stale = true;
  }

  async isSuppressed(accountId: number, address: string): Promise<boolean> {
    const normalized = normalizeAddress(address);
    const addresses = await this.current(accountId);
    if (addresses) return addresses.has(normalized);
    return (await this.fallback.suppressed(accountId, [normalized])).size > 0;
  }

  /** The account's list, read again if a change was announced; null when it is too long to copy. */
  private async current(accountId: number): Promise<Set<string> | null> {
    let copy = this.copies.get(accountId);
    if (!copy) {
      copy = { addresses: null, tooLarge: false, stale: true, loading: null };
      this.copies.set(accountId, copy);
    }
    while (copy.stale && !copy.tooLarge) {
      copy.loading ??= this.load(accountId, copy);
      await copy.loading;
    }
    return copy.addresses;
  }

  private async load(accountId: number, copy: Copy): Promise<void> {
    // Cleared first: a notification that arrives while the list is read marks it stale again.
    copy.stale = false;
    try {
      const rows = await this.db.query<{ address: string }>(sql.addressesOfAccount, [accountId, MAX_COPIED + 1]);
      copy.tooLarge = rows.length > MAX_COPIED;
      copy.addresses = copy.tooLarge ? null : new Set(rows.map((row) => row.address));
    } catch (error) {
      copy.stale = true;
      throw error;
    } finally {
      copy.loading = null;
    }
  }
}
