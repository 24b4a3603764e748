import { Anchor, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, type Page } from '../api.js';
import { messageQuery, relativeTime, STATUSES } from '../format.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

export interface MessageRow {
  id: string;
  to: string;
  from: string;
  subject: string;
  status: string;
  externalId: string | null;
  createdAt: string;
}

const FILTERS = { status: '', to: '', from: '', externalId: '', clientId: '', campaignId: '', tag: '', after: '', before: '' };
/** The events that change what the list shows: a new message, or a message's new status. */
const LIVE_TYPES = STATUSES.join(',');
/** The page size messageQuery asks for. */
const PAGE_SIZE = 50;

/**
 * The messages of the account, newest first: filters, cursor paging (the API's nextCursor, never
 * an offset), and live updates from the event stream (Server-Sent Events): the first page is
 * read again when an event arrives, so new messages appear and statuses change without a reload.
 */
export function Messages() {
  const [filters, setFilters] = useState(FILTERS);
  const [applied, setApplied] = useState(FILTERS);
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<MessageRow> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);

  const load = useCallback(async () => {
    try {
      setPage(await api<Page<MessageRow>>('GET', `/emails?${messageQuery(applied, cursor, PAGE_SIZE)}`));
      setError(null);
    } catch (problem) {
      setError(problem);
    }
  }, [applied, cursor]);
  useEffect(() => {
    setPage(null);
    void load();
  }, [load]);

  // Live: any status event reloads the page shown (debounced: a burst reloads it once).
  const reload = useRef(load);
  reload.current = load;
  useEffect(() => {
    const stream = new EventSource(`/events/stream?types=${LIVE_TYPES}`);
    let timer: number | undefined;
    const changed = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void reload.current(), 250);
    };
    for (const type of STATUSES) stream.addEventListener(type, changed);
    stream.onopen = () => setLive(true);
    stream.onerror = () => setLive(false);
    return () => {
      window.clearTimeout(timer);
      stream.close();
    };
  }, []);

  const search = (event: FormEvent) => {
    event.preventDefault();
    pages.reset();
    setApplied(filters);
  };
  const field = (name: keyof typeof FILTERS, label: string) => (
    <TextInput label={label} value={filters[name]} onChange={(event) => setFilters({ ...filters, [name]: event.currentTarget.value })} />
  );

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Messages</Title>
        <Text size="sm" c={live ? '#1b5e20' : 'dimmed'} aria-live="polite" data-live={live}>
          {live ? '● Live' : 'Not live'}
        </Text>
      </Group>
      <form onSubmit={search} aria-label="Filter messages">
        <Group align="end" wrap="wrap">
          <Select
            label="Status"
            data={[{ value: '', label: 'Any' }, ...STATUSES.map((status) => ({ value: status, label: status }))]}
            value={filters.status}
            onChange={(value) => setFilters({ ...filters, status: value ?? '' })}
            allowDeselect={false}
            w={150}
          />
          {field('to', 'To')}
          {field('from', 'From')}
          {field('externalId', 'External id')}
          {field('clientId', 'Client id')}
          {field('campaignId', 'Campaign')}
          {field('tag', 'Tag')}
          <TextInput type="date" label="From date" value={filters.after} onChange={(event) => setFilters({ ...filters, after: event.currentTarget.value })} />
          <TextInput type="date" label="Before date" value={filters.before} onChange={(event) => setFilters({ ...filters, before: event.currentTarget.value })} />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      {page && page.data.length < PAGE_SIZE && page.meta.pagination?.nextCursor && (
        // From and tag searches read a bounded stretch of messages per page (GET /emails): say why the page is short.
        <Text size="sm" role="status" data-testid="search-continues">
          {page.data.length === 0 ? 'No match in this stretch of messages' : 'The matches in this stretch of messages'}; “Older” searches further back.
        </Text>
      )}
      {error ? <ErrorState error={error} title="The messages could not be loaded" /> : !page ? <Loading label="Loading messages…" /> : page.data.length === 0 && !page.meta.pagination?.nextCursor ? (
        <Empty>No messages{Object.values(applied).some(Boolean) ? ' match these filters' : ' yet'}.</Empty>
      ) : page.data.length === 0 ? null : (
        <Table.ScrollContainer minWidth={700}>
          <Table striped highlightOnHover aria-label="Messages">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">To</Table.Th>
                <Table.Th scope="col">Subject</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((message) => (
                <Table.Tr key={message.id} data-message-id={message.id}>
                  <Table.Td>
                    <Anchor href={`#/messages/${encodeURIComponent(message.id)}`}>{message.to}</Anchor>
                  </Table.Td>
                  <Table.Td>{message.subject}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={message.status} />
                  </Table.Td>
                  <Table.Td>{relativeTime(message.createdAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager pages={pages} next={page?.meta.pagination?.nextCursor} />
    </Stack>
  );
}
