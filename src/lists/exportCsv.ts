import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { neutraliseCell } from '../shared/csvCells.js';
import { memberOf } from './contacts.js';

const sql = sqlFile(new URL('./contacts.sql', import.meta.url), ['pageMembers'] as const);

/**
 * GET /lists/{id}/contacts.csv: every member, streamed. Columns: email, name, status (the list
 * status), subscribed_at, created_at (when the contact joined the list), attributes (a JSON
 * object: one column whatever the attributes, so the export is written in one pass and the
 * import reads the types back as they were), suppression (the reason of the address's
 * suppression entry, or empty). The import reads this file back unchanged: it ignores the
 * timestamps and suppression, which are the list's and the account's to say.
 *
 * Members are read in pages in contact id order (an index range each) and written as the reply
 * drains: memory holds one page, whatever the size of the list.
 */
export const EXPORT_COLUMNS = ['email', 'name', 'status', 'subscribed_at', 'created_at', 'attributes', 'suppression'] as const;
const PAGE = 2_000;

export function exportMembers(db: Queryable, accountId: number, listSeq: number): Readable {
  async function* pages(): AsyncGenerator<string> {
    yield stringify([[...EXPORT_COLUMNS]]);
    let after = 0;
    for (;;) {
      const rows = await db.query(sql.pageMembers, [accountId, listSeq, after, PAGE]);
      if (rows.length === 0) return;
      const members = rows.map((row) => memberOf(row as Parameters<typeof memberOf>[0]));
      yield stringify(members.map((member) => [
        member.email, member.name ?? '', member.listStatus, member.subscribedAt ?? '', member.createdAt,
        Object.keys(member.attributes).length > 0 ? JSON.stringify(member.attributes) : '', member.suppression?.reason ?? '',
      ].map(neutraliseCell)));
      if (rows.length < PAGE) return;
      after = members.at(-1)!.id;
    }
  }
  return Readable.from(pages(), { objectMode: false });
}
