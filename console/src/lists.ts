import { api, type Page } from './api.js';

/** A list as GET /lists and GET /lists/{id} answer it (docs/CAMPAIGNS.md). */
export interface ListInfo {
  id: string;
  name: string;
  description: string | null;
  optIn: 'single' | 'double';
  fromAddress: string | null;
  fromName: string | null;
  token: string;
  counts: { total: number; unconfirmed: number; subscribed: number; unsubscribed: number };
  createdAt: string;
  updatedAt: string;
}

export interface ListDetail extends ListInfo {
  mailable: number;
  suppressed: { total: number; bounced: number; complained: number; unsubscribed: number; suppressed: number };
}

/** The statuses a member is shown with: its list status, or the suppression list's over it. */
export const SHOWN_STATUSES = ['subscribed', 'unconfirmed', 'unsubscribed', 'bounced', 'complained', 'suppressed'] as const;
export const LIST_STATUSES = ['subscribed', 'unconfirmed', 'unsubscribed'] as const;

/** The most lists a picker offers (pages of 100): far more than an account keeps in practice. */
const MAX_PAGES = 20;

/** Every list of the account (id and name), newest first, for the campaign editor's pickers and names. */
export async function allLists(): Promise<{ id: string; name: string }[]> {
  const lists: { id: string; name: string }[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer: Page<ListInfo> = await api('GET', `/lists?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    lists.push(...answer.data.map((list) => ({ id: list.id, name: list.name })));
    cursor = answer.meta.pagination?.nextCursor ?? null;
    if (!cursor) break;
  }
  return lists;
}
