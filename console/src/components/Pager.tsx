import { Button, Group } from '@mantine/core';
import { useState } from 'react';

/** The cursors of the pages a list has gone through (the API's nextCursor, never an offset): the last is the page shown. */
export interface CursorPages<C> {
  cursor: C | null;
  isFirst: boolean;
  newer(): void;
  older(next: C): void;
  reset(): void;
}

export function useCursorPages<C>(): CursorPages<C> {
  const [cursors, setCursors] = useState<(C | null)[]>([null]);
  return {
    cursor: cursors[cursors.length - 1] ?? null,
    isFirst: cursors.length <= 1,
    newer: () => setCursors((list) => list.slice(0, -1)),
    older: (next) => setCursors((list) => [...list, next]),
    reset: () => setCursors([null]),
  };
}

/**
 * "Newer" and "Older" under a list, newest first (`labels` for a list in another order); `next` is
 * the answer's cursor to the next page (null: the last page).
 */
export function Pager<C>({ pages, next, labels = ['Newer', 'Older'] }: { pages: CursorPages<C>; next: C | null | undefined; labels?: readonly [string, string] }) {
  return (
    <Group>
      <Button variant="default" disabled={pages.isFirst} onClick={pages.newer}>
        {labels[0]}
      </Button>
      <Button variant="default" disabled={next === null || next === undefined} onClick={() => next !== null && next !== undefined && pages.older(next)}>
        {labels[1]}
      </Button>
    </Group>
  );
}
