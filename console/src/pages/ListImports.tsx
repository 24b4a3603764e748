import { Button, FileInput, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, currentCsrfToken, type Page } from '../api.js';
import { relativeTime } from '../format.js';
import { countLineFeeds, expectedRecords } from '../reportData.js';
import { uploadWithProgress } from '../upload.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { ScrollTable } from '../components/ScrollTable.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { ImportProgress, type ImportJob, type Phase } from './ImportProgress.js';

/** How often a running import is read again. */
const POLL_MS = 700;

/** The records of a CSV file, its header aside, counted in the browser as it streams (the job reports rows read, not the file's length in rows). */
async function recordsOf(file: File): Promise<number> {
  const reader = file.stream().getReader();
  let lineFeeds = 0;
  let last = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    lineFeeds += countLineFeeds(value);
    if (value.length > 0) last = value[value.length - 1]!;
  }
  return expectedRecords(file.size, lineFeeds, last === 0x0a);
}

/**
 * A list's CSV import: the upload's progress (XMLHttpRequest), then the job's, read from its route
 * until it ends, with its counts and its refused lines; and the list's imports before.
 */
export function ListImports({ listId, onImported }: { listId: string; onImported: () => void }) {
  const base = `/lists/${encodeURIComponent(listId)}/imports`;
  const [file, setFile] = useState<File | null>(null);
  const [phase, setPhase] = useState<Phase | null>(null);
  const [expected, setExpected] = useState<number | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [history, setHistory] = useState<Page<ImportJob> | null>(null);
  const [historyError, setHistoryError] = useState<unknown>(null);
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => void (mounted.current = false);
  }, []);

  const loadHistory = useCallback(async () => {
    try {
      setHistory(await api('GET', `${base}?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
      setHistoryError(null);
    } catch (failure) {
      setHistoryError(failure);
    }
  }, [base, cursor]);
  useEffect(() => void loadHistory(), [loadHistory]);

  const follow = async (job: ImportJob) => {
    let current = job;
    while (current.state === 'running' && mounted.current) {
      setPhase({ step: 'importing', job: current });
      await new Promise((resolve) => window.setTimeout(resolve, POLL_MS));
      current = (await api<{ data: ImportJob }>('GET', `${base}/${encodeURIComponent(current.id)}`)).data;
    }
    if (!mounted.current) return;
    setPhase({ step: 'ended', job: current });
    onImported();
    pages.reset();
    await loadHistory();
  };

  const start = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setProblem(null);
    setPhase({ step: 'counting' });
    try {
      setExpected(await recordsOf(file));
      setPhase({ step: 'uploading', fraction: 0 });
      const { data } = await uploadWithProgress<{ data: ImportJob }>(base, file, 'text/csv', currentCsrfToken(), (fraction) => setPhase({ step: 'uploading', fraction }));
      setFile(null);
      await follow(data);
    } catch (failure) {
      setProblem(failure);
      setPhase(null);
    }
  };
  const stop = async (job: ImportJob) => {
    try {
      await api('DELETE', `${base}/${encodeURIComponent(job.id)}`);
    } catch (failure) {
      setProblem(failure);
    }
  };

  const busy = phase !== null && phase.step !== 'ended';
  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={3} size="h4">
          Import contacts
        </Title>
        <form onSubmit={(event) => void start(event)} aria-label="Import a CSV">
          <Group align="end">
            <FileInput
              label="CSV file"
              description="A header naming email (or address); optionally name and status; other columns become attributes"
              accept=".csv,text/csv"
              value={file}
              onChange={setFile}
              w={360}
              clearable
            />
            <Button type="submit" disabled={!file || busy}>
              Import
            </Button>
          </Group>
        </form>
        {phase && <ImportProgress phase={phase} expected={expected} onStop={(job) => void stop(job)} />}
        {problem !== null && <ErrorState error={problem} title="The file was not imported" />}
        <Title order={4} size="h5">
          Imports of this list
        </Title>
        {historyError ? <ErrorState error={historyError} title="The imports could not be loaded" /> : !history ? <Loading label="Loading imports…" /> : history.data.length === 0 ? <Empty>No imports yet.</Empty> : (
          <ScrollTable minWidth={720} label="The imports, scrolled sideways">
            <Table aria-label="Imports">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Started</Table.Th>
                  <Table.Th scope="col">State</Table.Th>
                  <Table.Th scope="col">Rows read</Table.Th>
                  <Table.Th scope="col">Added</Table.Th>
                  <Table.Th scope="col">Updated</Table.Th>
                  <Table.Th scope="col">Unchanged</Table.Th>
                  <Table.Th scope="col">Refused</Table.Th>
                  <Table.Th scope="col">Size</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {history.data.map((job) => (
                  <Table.Tr key={job.id} data-import-id={job.id}>
                    <Table.Td>{relativeTime(job.createdAt)}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={job.state} />
                      {job.error && (
                        <Text size="xs" c="dimmed">
                          {job.error}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>{job.rowsRead}</Table.Td>
                    <Table.Td>{job.added}</Table.Td>
                    <Table.Td>{job.updated}</Table.Td>
                    <Table.Td>{job.unchanged}</Table.Td>
                    <Table.Td>{job.refused}</Table.Td>
                    <Table.Td>{(job.bytes / 1024).toFixed(1)} KB</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollTable>
        )}
        <Pager pages={pages} next={history?.meta.pagination?.nextCursor} />
      </Stack>
    </Paper>
  );
}
