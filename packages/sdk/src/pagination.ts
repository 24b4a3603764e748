/**
 * The cursor of the page after this one. Mailroom's lists answer `meta.pagination.nextCursor`;
 * some routes still answer a top-level `nextCursor`: both are read until every route answers
 * the first.
 */
export function nextCursorOf(page: unknown): string | number | null {
  if (page === null || typeof page !== 'object') return null;
  const { meta, nextCursor } = page as { meta?: { pagination?: { nextCursor?: unknown } }; nextCursor?: unknown };
  const cursor = meta?.pagination?.nextCursor ?? nextCursor;
  return (typeof cursor === 'string' && cursor !== '') || typeof cursor === 'number' ? cursor : null;
}

/**
 * Every page: `fetchPage(undefined)` first, then with each page's next cursor until there is none.
 * `Cursor` is the type the route's `cursor` parameter takes (most are strings; template versions are numbers).
 */
export async function* paginate<Page, Cursor = string>(fetchPage: (cursor: Cursor | undefined) => Promise<Page>): AsyncGenerator<Page> {
  let cursor: Cursor | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    yield page;
    const next = nextCursorOf(page);
    if (next === null || next === cursor) return;
    cursor = next as Cursor;
  }
}

/** The items of every page (each page's `data` array), one at a time. */
export async function* itemsOf<Item>(pages: AsyncIterable<{ data: Item[] } | unknown>): AsyncGenerator<Item> {
  for await (const page of pages) {
    const data = (page as { data?: unknown }).data;
    if (Array.isArray(data)) yield* data as Item[];
  }
}
