import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { infobipError, infobipStatus, infobipTime, type InfobipError, type InfobipStatus } from './statuses.js';

const sql = sqlFile(new URL('./reports.sql', import.meta.url), ['takeReports'] as const);

/** One delivery report in Infobip's email shape (GET /email/1/reports). */
export interface InfobipReport {
  bulkId: string | null;
  messageId: string;
  to: string;
  sentAt: string | null;
  doneAt: string | null;
  messageCount: number;
  price: { pricePerMessage: number; currency: string };
  status: InfobipStatus;
  error: InfobipError;
  channel: 'EMAIL';
}

interface ReportRow {
  event_id: number;
  type: string;
  done_at: Date;
  details: { reason?: unknown; reply?: unknown; bounceClass?: unknown };
  message_id: string;
  external_id: string | null;
  campaign_id: string | null;
  to_address: string;
  sent_at: Date;
}

/**
 * The account's reports not fetched before, each returned once (Infobip's semantics): the
 * statement that reads them records them fetched. Derived from the event log: each delivery
 * outcome (DELIVERED, SENT through a relay, BOUNCED, FAILED, REJECTED) is one report; a message
 * delivered and later bounced (an asynchronous DSN) has two.
 */
export async function takeReports(db: Queryable, accountId: number, filter: { bulkId: string | null; messageId: string | null; limit: number }): Promise<InfobipReport[]> {
  const rows = await db.query<ReportRow & Record<string, unknown>>(sql.takeReports, [accountId, filter.bulkId, filter.messageId, filter.limit]);
  return rows.map((row) => ({
    bulkId: row.campaign_id,
    messageId: row.external_id ?? row.message_id,
    to: row.to_address,
    sentAt: infobipTime(row.sent_at),
    doneAt: infobipTime(row.done_at),
    messageCount: 1,
    // Mailroom prices nothing; Infobip's clients read the field.
    price: { pricePerMessage: 0, currency: 'EUR' },
    status: infobipStatus(row.type, row.details.reason),
    error: infobipError(row.type, row.details),
    channel: 'EMAIL',
  }));
}
