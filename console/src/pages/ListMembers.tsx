import { Alert, Button, Group, Paper, Select, Stack, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiProblem, type Page } from '../api.js';
import { relativeTime } from '../format.js';
import { LIST_STATUSES, SHOWN_STATUSES } from '../lists.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface Member {
  id: number;
  email: string;
  name: string | null;
  status: string;
  listStatus: string;
  suppressed: boolean;
  createdAt: string;
}

/**
 * A list's members in contact id order (the API's cursor), by status; one found by its address
 * (the API looks members up by address, it has no substring search); add one, take one off.
 */
export function ListMembers({ listId, optIn, changes, onChange }: { listId: string; optIn: 'single' | 'double'; changes: number; onChange: () => void }) {
  const base = `/lists/${encodeURIComponent(listId)}/contacts`;
  const [status, setStatus] = useState('');
  const pages = useCursorPages<string>();
  const { cursor, reset } = pages;
  const [page, setPage] = useState<Page<Member> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [lookup, setLookup] = useState('');
  const [found, setFound] = useState<Member | null | undefined>(undefined);
  const [added, setAdded] = useState({ email: '', name: '', status: '' });
  const [notice, setNotice] = useState<string | null>(null);

  // A change (an import, an add, a removal) shows the first page again, read anew.
  useEffect(() => reset(), [changes]);
  const load = useCallback(async () => {
    try {
      const query = new URLSearchParams({ limit: '50' });
      if (status) query.set('status', status);
      if (cursor) query.set('cursor', cursor);
      setPage(await api('GET', `${base}?${query}`));
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, [base, status, cursor, changes]);
  useEffect(() => void load(), [load]);

  const search = async (event: FormEvent) => {
    event.preventDefault();
    setFound(undefined);
    setProblem(null);
    try {
      setFound((await api<{ data: Member }>('GET', `${base}/${encodeURIComponent(lookup.trim())}`)).data);
    } catch (failure) {
      if (failure instanceof ApiProblem && failure.status === 404) setFound(null);
      else setProblem(failure);
    }
  };
  const add = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setNotice(null);
    try {
      const body = { email: added.email.trim(), ...(added.name.trim() ? { name: added.name.trim() } : {}), ...(added.status ? { status: added.status } : {}) };
      const answer = await api<{ data: Member; result: string }>('POST', base, body);
      setNotice(`${answer.data.email}: ${answer.result}, ${answer.data.status}.`);
      setAdded({ email: '', name: '', status: '' });
      onChange();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const remove = async (member: Member) => {
    if (!window.confirm(`Take ${member.email} off the list? The contact stays, with its other lists.`)) return;
    setProblem(null);
    try {
      await api('DELETE', `${base}/${member.id}`);
      if (found?.id === member.id) setFound(undefined);
      onChange();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const removeButton = (member: Member) => (
    <Button size="xs" variant="default" onClick={() => void remove(member)} aria-label={`Remove ${member.email}`}>
      Remove
    </Button>
  );

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={3} size="h4">
          Members
        </Title>
        <Group align="start" grow preventGrowOverflow={false} wrap="wrap">
          <form onSubmit={(event) => void search(event)} aria-label="Find a member">
            <Group align="end">
              <TextInput label="Find a member by address" type="email" value={lookup} onChange={(event) => setLookup(event.currentTarget.value)} required />
              <Button type="submit" variant="default">
                Find
              </Button>
            </Group>
          </form>
          <form onSubmit={(event) => void add(event)} aria-label="Add a member">
            <Group align="end">
              <TextInput label="Add an address" type="email" value={added.email} onChange={(event) => setAdded({ ...added, email: event.currentTarget.value })} required />
              <TextInput label="Its name" value={added.name} onChange={(event) => setAdded({ ...added, name: event.currentTarget.value })} maxLength={200} />
              <Select
                label="Status"
                data={[{ value: '', label: optIn === 'double' ? 'List default (unconfirmed)' : 'List default (subscribed)' }, ...LIST_STATUSES.map((value) => ({ value, label: value }))]}
                value={added.status}
                onChange={(value) => setAdded({ ...added, status: value ?? '' })}
                allowDeselect={false}
                w={220}
              />
              <Button type="submit">Add</Button>
            </Group>
          </form>
        </Group>
        {found === null && <Text size="sm">Not a member of this list.</Text>}
        {found && (
          <Group gap="sm" data-testid="member-found">
            <Text size="sm">{found.email}</Text>
            <StatusBadge status={found.status} />
            <Text size="sm">{found.name ?? ''}</Text>
            {removeButton(found)}
          </Group>
        )}
        {notice && (
          <Alert color="#1b5e20" variant="outline" role="status" withCloseButton onClose={() => setNotice(null)} closeButtonLabel="Dismiss" data-testid="member-added">
            {notice}
          </Alert>
        )}
        {problem !== null && <ErrorState error={problem} title="The members were not changed" />}
        <Select
          label="Status"
          data={[{ value: '', label: 'Any' }, ...SHOWN_STATUSES.map((value) => ({ value, label: value }))]}
          value={status}
          onChange={(value) => {
            setStatus(value ?? '');
            reset();
          }}
          allowDeselect={false}
          w={200}
          aria-label="Show members of status"
        />
        {error ? <ErrorState error={error} title="The members could not be loaded" /> : !page ? <Loading label="Loading members…" /> : page.data.length === 0 ? <Empty>No members{status ? ` ${status}` : ''} yet.</Empty> : (
          <Table.ScrollContainer minWidth={640}>
            <Table aria-label="Members">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Address</Table.Th>
                  <Table.Th scope="col">Name</Table.Th>
                  <Table.Th scope="col">Status</Table.Th>
                  <Table.Th scope="col">Joined</Table.Th>
                  <Table.Th scope="col">
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {page.data.map((member) => (
                  <Table.Tr key={member.id} data-member={member.email}>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>{member.email}</Table.Td>
                    <Table.Td>{member.name ?? ''}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={member.status} />
                    </Table.Td>
                    <Table.Td>{relativeTime(member.createdAt)}</Table.Td>
                    <Table.Td>{removeButton(member)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <Pager pages={pages} next={page?.meta.pagination?.nextCursor} labels={['Previous', 'Next']} />
      </Stack>
    </Paper>
  );
}
