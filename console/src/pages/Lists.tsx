import { Anchor, Button, Group, Paper, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, type Page } from '../api.js';
import { relativeTime } from '../format.js';
import type { ListInfo } from '../lists.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { ListView } from './ListView.js';

/** Contact lists (`#/lists`) and one list (`#/lists/<id>`). */
export function Lists({ id }: { id?: string | undefined }) {
  return id ? <ListView id={id} /> : <AllLists />;
}

function AllLists() {
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<ListInfo> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [optIn, setOptIn] = useState<'single' | 'double'>('single');

  const load = useCallback(async () => {
    try {
      setPage(await api('GET', `/lists?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, [cursor]);
  useEffect(() => void load(), [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const { data } = await api<{ data: ListInfo }>('POST', '/lists', { name: name.trim(), optIn });
      window.location.hash = `#/lists/${encodeURIComponent(data.id)}`;
    } catch (failure) {
      setProblem(failure);
    }
  };

  return (
    <Stack>
      <Title order={2}>Lists</Title>
      <Paper withBorder p="md">
        <form onSubmit={(event) => void create(event)} aria-labelledby="new-list-title">
          <Stack gap="sm">
            <Title order={3} size="h5" id="new-list-title">
              New list
            </Title>
            <Group align="end">
              <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} required maxLength={100} w={280} />
              <Select
                label="Opt-in"
                data={[{ value: 'single', label: 'Single: added is subscribed' }, { value: 'double', label: 'Double: confirmed by mail' }]}
                value={optIn}
                onChange={(value) => setOptIn(value === 'double' ? 'double' : 'single')}
                allowDeselect={false}
                w={260}
              />
              <Button type="submit">Create list</Button>
            </Group>
          </Stack>
        </form>
      </Paper>
      {problem !== null && <ErrorState error={problem} title="The list was not created" />}
      {error ? <ErrorState error={error} title="The lists could not be loaded" /> : !page ? <Loading label="Loading lists…" /> : page.data.length === 0 ? <Empty>No lists yet: create one above, then add or import its contacts.</Empty> : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Lists">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Opt-in</Table.Th>
                <Table.Th scope="col">Members</Table.Th>
                <Table.Th scope="col">Subscribed</Table.Th>
                <Table.Th scope="col">Unconfirmed</Table.Th>
                <Table.Th scope="col">Unsubscribed</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((list) => (
                <Table.Tr key={list.id} data-list-id={list.id}>
                  <Table.Td>
                    <Anchor href={`#/lists/${encodeURIComponent(list.id)}`} style={{ overflowWrap: 'anywhere' }}>
                      {list.name}
                    </Anchor>
                    {list.description && (
                      <Text size="xs" c="dimmed" lineClamp={1}>
                        {list.description}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{list.optIn}</Table.Td>
                  <Table.Td>{list.counts.total}</Table.Td>
                  <Table.Td>{list.counts.subscribed}</Table.Td>
                  <Table.Td>{list.counts.unconfirmed}</Table.Td>
                  <Table.Td>{list.counts.unsubscribed}</Table.Td>
                  <Table.Td>{relativeTime(list.createdAt)}</Table.Td>
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
