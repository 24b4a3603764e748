import type { Queryable } from '../db/database.js';
import { isFinal, isStatus } from '../events/status.js';
import { getMessage, listMessages, type ListFilter, type MessageView } from '../sending/read.js';
import { MESSAGE_ID } from '../shared/ids.js';
import { infobipStatus, infobipTime, statusesOfGroup, type GeneralStatus, type InfobipStatus } from './statuses.js';

/** One message in Infobip's email log shape (GET /email/1/logs). */
export interface InfobipLog {
  messageId: string;
  to: string;
  from: string;
  text: string;
  sentAt: string | null;
  doneAt: string | null;
  messageCount: number;
  price: { pricePerMessage: number; currency: string };
  status: InfobipStatus;
  bulkId: string | null;
  channel: 'EMAIL';
}

export interface LogFilter {
  messageId: string | null;
  from: string | null;
  to: string | null;
  bulkId: string | null;
  generalStatus: GeneralStatus | null;
  sentSince: Date | null;
  sentUntil: Date | null;
  limit: number;
}

/**
 * The account's messages, newest first, through Mailroom's own message list (src/sending/read.ts):
 * bulkId is the campaignId the door stored, messageId a Mailroom id or the externalId the caller
 * chose, generalStatus the Mailroom statuses of that group (one list per status, merged).
 */
export async function messageLogs(db: Queryable, accountId: number, filter: LogFilter): Promise<InfobipLog[]> {
  if (filter.messageId !== null && MESSAGE_ID.test(filter.messageId)) {
    const message = await getMessage(db, accountId, filter.messageId);
    if (message) return [logOf(message)];
  }
  const base: ListFilter = {
    status: null,
    externalId: filter.messageId,
    clientId: null,
    campaignId: filter.bulkId,
    to: filter.to,
    from: filter.from,
    tag: null,
    after: filter.sentSince,
    before: filter.sentUntil,
    cursor: null,
    limit: filter.limit,
  };
  const statuses = filter.generalStatus === null ? [null] : statusesOfGroup(filter.generalStatus);
  const pages = await Promise.all(statuses.map((status) => listMessages(db, accountId, { ...base, status })));
  return pages
    .flatMap((page) => page.items)
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, filter.limit)
    .map(logOf);
}

function logOf(message: MessageView): InfobipLog {
  const final = isStatus(message.status) && isFinal(message.status);
  return {
    messageId: message.externalId ?? message.id,
    to: message.to,
    from: message.from,
    text: message.text,
    sentAt: infobipTime(message.createdAt),
    doneAt: final ? infobipTime(message.updatedAt) : null,
    messageCount: 1,
    price: { pricePerMessage: 0, currency: 'EUR' },
    status: infobipStatus(message.status),
    bulkId: message.campaignId,
    channel: 'EMAIL',
  };
}
