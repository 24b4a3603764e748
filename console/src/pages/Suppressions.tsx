import { Alert, Anchor, Button, FileInput, Group, Paper, Progress, Select, Stack, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiProblem, currentCsrfToken, type Page } from '../api.js';
import { relativeTime } from '../format.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { uploadWithProgress } from '../upload.js';
import { Pager, useCursorPages } from '../components/Pager.js';

interface Entry {
  address: string;
  reason: string;
  messageId: string | null;
  createdAt: string;
}

const REASONS = ['HARD_BOUNCE', 'COMPLAINT', 'UNSUBSCRIBE', 'MANUAL'];

/** The suppression list: look an address up, add, remove, import a CSV (with its upload's progress), export. */
export function Suppressions() {
  const [reason, setReason] = useState('');
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<Entry> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [lookup, setLookup] = useState('');
  const [found, setFound] = useState<Entry | null | undefined>(undefined);
  const [address, setAddress] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [imported, setImported] = useState<{ rows: number; added: number; alreadyListed: number } | null>(null);

  const load = useCallback(async () => {
    try {
      const query = new URLSearchParams({ limit: '100' });
      if (reason) query.set('reason', reason);
      if (cursor) query.set('cursor', cursor);
      setPage(await api<Page<Entry>>('GET', `/suppressions?${query}`));
    } catch (failure) {
      setError(failure);
    }
  }, [reason, cursor]);
  useEffect(() => void load(), [load]);

  const search = async (event: FormEvent) => {
    event.preventDefault();
    setFound(undefined);
    try {
      setFound((await api<{ data: Entry }>('GET', `/suppressions/${encodeURIComponent(lookup.trim())}`)).data);
    } catch (failure) {
      if (failure instanceof ApiProblem && failure.status === 404) setFound(null);
      else setProblem(failure);
    }
  };
  const add = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      await api('POST', '/suppressions', { address: address.trim() });
      setAddress('');
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const remove = async (entry: Entry) => {
    if (!window.confirm(`Remove ${entry.address} from the list? Mail to it will be sent again.`)) return;
    setProblem(null);
    try {
      await api('DELETE', `/suppressions/${encodeURIComponent(entry.address)}`);
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const importCsv = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setProblem(null);
    setImported(null);
    setProgress(0);
    try {
      const { data } = await uploadWithProgress<{ data: { rows: number; added: number; alreadyListed: number } }>('/suppressions/import', file, 'text/csv', currentCsrfToken(), setProgress);
      setImported(data);
      setFile(null);
      pages.reset();
      await load();
    } catch (failure) {
      setProblem(failure);
      setProgress(null);
    }
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Suppressions</Title>
        <Anchor href="/suppressions/export.csv" download="suppressions.csv">
          Export as CSV
        </Anchor>
      </Group>
      <Group align="start" grow>
        <Paper withBorder p="md">
          <form onSubmit={(event) => void search(event)} aria-label="Look an address up">
            <Group align="end">
              <TextInput label="Is this address suppressed?" value={lookup} onChange={(event) => setLookup(event.currentTarget.value)} required />
              <Button type="submit" variant="default">
                Look up
              </Button>
            </Group>
          </form>
          {found === null && <Text mt="sm">Not on the list: mail to it is sent.</Text>}
          {found && (
            <Text mt="sm" data-testid="lookup-result">
              Suppressed: {found.reason} since {new Date(found.createdAt).toLocaleString()}
            </Text>
          )}
        </Paper>
        <Paper withBorder p="md">
          <form onSubmit={(event) => void add(event)} aria-label="Suppress an address">
            <Group align="end">
              <TextInput label="Suppress an address" value={address} onChange={(event) => setAddress(event.currentTarget.value)} required />
              <Button type="submit">Suppress</Button>
            </Group>
          </form>
        </Paper>
      </Group>
      <Paper withBorder p="md">
        <form onSubmit={(event) => void importCsv(event)} aria-label="Import a CSV">
          <Group align="end">
            <FileInput label="Import a CSV" description="A header naming address (or email), optionally reason; or addresses in the first column" accept=".csv,text/csv" value={file} onChange={setFile} w={360} clearable />
            <Button type="submit" disabled={!file}>
              Import
            </Button>
          </Group>
        </form>
        {progress !== null && (
          <Stack gap={4} mt="sm">
            <Progress value={Math.round(progress * 100)} aria-label="Import progress" data-progress={Math.round(progress * 100)} />
            <Text size="sm">{progress < 1 ? `Uploading… ${Math.round(progress * 100)}%` : imported ? 'Done' : 'Importing…'}</Text>
          </Stack>
        )}
        {imported && (
          <Alert mt="sm" color="#1b5e20" variant="filled" role="status" data-testid="import-result">
            {imported.rows} rows: {imported.added} added, {imported.alreadyListed} listed already.
          </Alert>
        )}
      </Paper>
      {problem !== null && <ErrorState error={problem} title="The list was not changed" />}
      <Group align="end">
        <Select label="Reason" data={[{ value: '', label: 'Any' }, ...REASONS.map((value) => ({ value, label: value }))]} value={reason} onChange={(value) => { setReason(value ?? ''); pages.reset(); }} allowDeselect={false} w={200} />
      </Group>
      {error ? <ErrorState error={error} title="The list could not be loaded" /> : !page ? <Loading label="Loading the list…" /> : page.data.length === 0 ? <Empty>No suppressed addresses{reason ? ' for this reason' : ''}.</Empty> : (
        <Table.ScrollContainer minWidth={600}>
          <Table aria-label="Suppressed addresses">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Address</Table.Th>
                <Table.Th scope="col">Reason</Table.Th>
                <Table.Th scope="col">Since</Table.Th>
                <Table.Th scope="col">
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((entry) => (
                <Table.Tr key={entry.address} data-address={entry.address}>
                  <Table.Td>{entry.address}</Table.Td>
                  <Table.Td>{entry.reason}</Table.Td>
                  <Table.Td>{relativeTime(entry.createdAt)}</Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="default" onClick={() => void remove(entry)} aria-label={`Remove ${entry.address}`}>
                      Remove
                    </Button>
                  </Table.Td>
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
