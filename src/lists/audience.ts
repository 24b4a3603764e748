import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { SuppressionReason } from '../suppression/suppressions.js';
import type { Attributes } from './attributes.js';
import { attributesOf } from './contacts.js';

const sql = sqlFile(new URL('./audience.sql', import.meta.url), ['selectAudience', 'countAudience'] as const);

/**
 * The audience of a campaign: who it may mail, read page by page in contact id order so that a
 * campaign of millions never holds its audience in memory and can resume after the last id it
 * handled. A contact is in it when it is `subscribed` on one of `lists`, is on none of
 * `excludeLists` (whatever its status there), and its address is not on the account's
 * suppression list. Unconfirmed and unsubscribed members are never in it.
 */
export interface AudienceContact {
  id: number;
  email: string;
  name: string | null;
  attributes: Attributes;
}

export interface AudiencePage {
  /** The contacts to mail, in id order. */
  contacts: AudienceContact[];
  /** Subscribed members left out because their address is suppressed (a campaign counts them as rejected). */
  suppressed: (AudienceContact & { reason: SuppressionReason })[];
  /** Subscribed members left out because they are on an exclusion list. */
  excluded: number;
  /**
   * The afterContactId of the next page, or null when this was the last one. A page may hold no
   * contact at all (every candidate excluded or suppressed) and still not be the last.
   */
  next: number | null;
}

export interface AudienceSpec {
  /** List ids (list_...) of the account; ids of other accounts' or deleted lists select nothing. */
  lists: readonly string[];
  excludeLists?: readonly string[];
  /** Only members subscribed at this time or before (a campaign's audience when it started). */
  asOf?: Date | null;
}

export async function selectAudience(db: Queryable, accountId: number, spec: AudienceSpec, afterContactId: number, limit: number): Promise<AudiencePage> {
  const rows = await db.query<{ id: number; email: string | null; name: string | null; attributes: Attributes | string; excluded: boolean; suppression_reason: SuppressionReason | null }>(
    sql.selectAudience, [accountId, [...spec.lists], [...(spec.excludeLists ?? [])], afterContactId, limit, spec.asOf ?? null], 'selectAudience',
  );
  const page: AudiencePage = { contacts: [], suppressed: [], excluded: 0, next: rows.length === limit ? Number(rows.at(-1)!.id) : null };
  for (const row of rows) {
    if (row.email === null) continue; // a member without its contact: never written, but never mailed either
    const contact = { id: Number(row.id), email: row.email, name: row.name, attributes: attributesOf(row.attributes) };
    if (row.excluded) page.excluded++;
    else if (row.suppression_reason) page.suppressed.push({ ...contact, reason: row.suppression_reason });
    else page.contacts.push(contact);
  }
  return page;
}

/** The size of an audience as of `asOf` (suppressed contacts included): a campaign's total at its start. */
export async function countAudience(db: Queryable, accountId: number, spec: AudienceSpec, asOf: Date): Promise<number> {
  const [row] = await db.query<{ n: number | string }>(sql.countAudience, [accountId, [...spec.lists], [...(spec.excludeLists ?? [])], asOf]);
  return Number(row?.n ?? 0);
}
