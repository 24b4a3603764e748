import { Anchor, Button, Code, CopyButton, Group, Paper, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import type { ListDetail } from '../lists.js';
import { ErrorState, Loading } from '../components/states.js';
import { ListImports } from './ListImports.js';
import { ListMembers } from './ListMembers.js';

/** One list: rename, delete, its counts and sign-up address, its members, CSV import (with progress) and export. */
export function ListView({ id }: { id: string }) {
  const [list, setList] = useState<ListDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [name, setName] = useState('');
  // Bumped when members change (an import, an add, a removal): the members table reads again.
  const [changes, setChanges] = useState(0);

  const load = useCallback(async () => {
    try {
      const { data } = await api<{ data: ListDetail }>('GET', `/lists/${encodeURIComponent(id)}`);
      setList(data);
      setName((current) => current || data.name);
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, [id]);
  useEffect(() => void load(), [load]);
  const changed = useCallback(() => {
    setChanges((value) => value + 1);
    void load();
  }, [load]);

  const rename = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      await api('PATCH', `/lists/${encodeURIComponent(id)}`, { name: name.trim() });
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const remove = async () => {
    if (!list || !window.confirm(`Delete the list ${list.name}? Its ${list.counts.total} memberships go; the contacts stay, with their other lists.`)) return;
    setProblem(null);
    try {
      await api('DELETE', `/lists/${encodeURIComponent(id)}`);
      window.location.hash = '#/lists';
    } catch (failure) {
      setProblem(failure);
    }
  };

  if (error) return <ErrorState error={error} title="The list could not be loaded" />;
  if (!list) return <Loading label="Loading the list…" />;
  const subscribeUrl = `${window.location.origin}/subscribe/${list.token}`;
  return (
    <Stack>
      <Anchor href="#/lists" size="sm">
        ← All lists
      </Anchor>
      <Group justify="space-between">
        <Title order={2} style={{ overflowWrap: 'anywhere' }}>
          {list.name}
        </Title>
        <Group gap="xs">
          <Anchor href={`/lists/${encodeURIComponent(list.id)}/contacts.csv`} download={`${list.id}.csv`}>
            Export as CSV
          </Anchor>
          <Button size="xs" color="#a61b1b" variant="outline" onClick={() => void remove()}>
            Delete list
          </Button>
        </Group>
      </Group>
      <SimpleGrid cols={{ base: 2, sm: 3, md: 6 }} data-testid="list-counts">
        <Count label="Members" value={list.counts.total} />
        <Count label="Subscribed" value={list.counts.subscribed} />
        <Count label="Unconfirmed" value={list.counts.unconfirmed} />
        <Count label="Unsubscribed" value={list.counts.unsubscribed} />
        <Count label="Suppressed" value={list.suppressed.total} />
        <Count label="Mailable" value={list.mailable} />
      </SimpleGrid>
      <Paper withBorder p="md">
        <Stack gap="sm">
          <form onSubmit={(event) => void rename(event)} aria-label="Rename the list">
            <Group align="end">
              <TextInput label="List name" value={name} onChange={(event) => setName(event.currentTarget.value)} required maxLength={100} w={280} />
              <Button type="submit" variant="default" disabled={name.trim() === '' || name.trim() === list.name}>
                Rename
              </Button>
            </Group>
          </form>
          <Text size="sm">
            {list.optIn === 'double' ? 'Double opt-in: a sign-up is confirmed by mail.' : 'Single opt-in: a sign-up is subscribed at once.'} Sign-up forms post to:
          </Text>
          <Group gap="xs" wrap="nowrap">
            <Code style={{ overflowWrap: 'anywhere' }}>{subscribeUrl}</Code>
            <CopyButton value={subscribeUrl}>{({ copied, copy }) => <Button size="xs" variant="default" onClick={copy} aria-label="Copy the sign-up address">{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
          </Group>
        </Stack>
      </Paper>
      {problem !== null && <ErrorState error={problem} title="The list was not changed" />}
      <ListImports listId={list.id} onImported={changed} />
      <ListMembers listId={list.id} optIn={list.optIn} changes={changes} onChange={changed} />
    </Stack>
  );
}

function Count({ label, value }: { label: string; value: number }) {
  return (
    <Paper withBorder p="sm">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="lg" fw={700} data-count={label.toLowerCase()}>
        {value}
      </Text>
    </Paper>
  );
}
