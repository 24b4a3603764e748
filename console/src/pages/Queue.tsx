import { Alert, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface Destination {
  destination: string;
  attempted: boolean;
  domains: string[];
  queued: number;
  deferred: number;
  scheduled: number;
  inDelivery: number;
  oldestQueuedAt: string | null;
  nextAttemptAt: string | null;
}

/** What waits to be delivered, per destination (the MX host set of the last attempt), and "retry now". */
export function Queue() {
  const [rows, setRows] = useState<Destination[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setRows((await api<{ data: Destination[] }>('GET', '/queue')).data);
    } catch (failure) {
      setError(failure);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const retry = async (destination: string | null) => {
    setProblem(null);
    try {
      const { data } = await api<{ data: { retried: number } }>('POST', '/queue/retry', destination === null ? {} : { destination });
      setNotice(`${data.retried} message(s) made due now.`);
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Queue</Title>
        <Group gap="xs">
          <Button variant="default" size="xs" onClick={() => void load()}>
            Refresh
          </Button>
          <Button size="xs" onClick={() => void retry(null)} disabled={!rows || rows.length === 0}>
            Retry all now
          </Button>
        </Group>
      </Group>
      {notice && (
        <Alert color="#0b4f8a" variant="outline" role="status" withCloseButton onClose={() => setNotice(null)} closeButtonLabel="Dismiss">
          {notice}
        </Alert>
      )}
      {problem !== null && <ErrorState error={problem} title="Nothing was retried" />}
      {error ? <ErrorState error={error} title="The queue could not be loaded" /> : !rows ? <Loading label="Loading the queue…" /> : rows.length === 0 ? <Empty>Nothing is waiting: every message was delivered or ended.</Empty> : (
        <Table.ScrollContainer minWidth={800}>
          <Table aria-label="Waiting messages per destination">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Destination</Table.Th>
                <Table.Th scope="col">Queued</Table.Th>
                <Table.Th scope="col">Deferred</Table.Th>
                <Table.Th scope="col">Scheduled</Table.Th>
                <Table.Th scope="col">In delivery</Table.Th>
                <Table.Th scope="col">Next attempt</Table.Th>
                <Table.Th scope="col">Oldest</Table.Th>
                <Table.Th scope="col">Retry</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row.destination} data-destination={row.destination}>
                  <Table.Td>
                    <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
                      {row.destination}
                    </Text>
                    {row.attempted && (
                      <Text size="xs" c="dimmed">
                        for {row.domains.join(', ')}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{row.queued}</Table.Td>
                  <Table.Td>{row.deferred}</Table.Td>
                  <Table.Td>{row.scheduled}</Table.Td>
                  <Table.Td>{row.inDelivery}</Table.Td>
                  <Table.Td>{row.nextAttemptAt ? new Date(row.nextAttemptAt).toLocaleString() : '–'}</Table.Td>
                  <Table.Td>{row.oldestQueuedAt ? relativeTime(row.oldestQueuedAt) : '–'}</Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="default" onClick={() => void retry(row.destination)} aria-label={`Retry now: ${row.destination}`}>
                      Retry now
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
