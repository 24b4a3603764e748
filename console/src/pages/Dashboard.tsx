import { Badge, Button, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api.js';
import { percent } from '../format.js';
import { Chart } from '../components/Chart.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface Point {
  time: string;
  sent: number;
  delivered: number;
  bounced: number;
  complained: number;
  openedUnique: number;
  clickedUnique: number;
}
interface Reputation {
  bounceRate: number;
  complaintRate: number;
  thresholds?: { bounceRateWarn: number; bounceRateSuspend: number; complaintRateWarn: number; complaintRateSuspend: number };
}
interface Account {
  name: string;
  status: string;
}
interface Destination {
  queued?: number;
  deferred?: number;
  [key: string]: unknown;
}

const SERIES = [
  { key: 'sent', label: 'Sent', color: '#1c7ed6' },
  { key: 'delivered', label: 'Delivered', color: '#2b8a3e' },
  { key: 'bounced', label: 'Bounced', color: '#c92a2a' },
  { key: 'complained', label: 'Complained', color: '#862e9c' },
  { key: 'openedUnique', label: 'Opened', color: '#e67700' },
  { key: 'clickedUnique', label: 'Clicked', color: '#0b7285' },
] as const;

export function Dashboard({ admin = false }: { admin?: boolean }) {
  const [interval, setInterval] = useState<'hour' | 'day'>('hour');
  const [state, setState] = useState<{ points: Point[]; account: Account; reputation: Reputation; queued: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reinstated, setReinstated] = useState(0);

  useEffect(() => {
    let live = true;
    setState(null);
    Promise.all([
      api<{ data: { points: Point[] } }>('GET', `/reports/timeseries?interval=${interval}`),
      api<{ data: Account }>('GET', '/account'),
      api<{ data: Reputation }>('GET', '/account/reputation'),
      api<{ data: Destination[] }>('GET', '/queue'),
    ]).then(
      ([series, account, reputation, queue]) => {
        if (!live) return;
        const queued = queue.data.reduce((sum, row) => sum + (Number(row.queued) || 0) + (Number(row.deferred) || 0), 0);
        setState({ points: series.data.points, account: account.data, reputation: reputation.data, queued });
      },
      (problem: unknown) => live && setError(problem),
    );
    return () => {
      live = false;
    };
  }, [interval, reinstated]);

  const chart = useMemo(() => {
    if (!state) return null;
    const times = state.points.map((point) => Date.parse(point.time.length === 10 ? `${point.time}T00:00:00Z` : point.time) / 1000);
    return { times, series: SERIES.map((entry) => ({ label: entry.label, color: entry.color, values: state.points.map((point) => Number(point[entry.key]) || 0) })) };
  }, [state]);

  if (error) return <ErrorState error={error} title="The dashboard could not be loaded" />;
  if (!state || !chart) return <Loading label="Loading the dashboard…" />;
  const totals = SERIES.map((entry) => ({ ...entry, total: state.points.reduce((sum, point) => sum + (Number(point[entry.key]) || 0), 0) }));
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Dashboard</Title>
        <Group gap="xs">
          <Text size="sm">Account {state.account.name}</Text>
          <StatusBadge status={state.account.status} />
          {admin && state.account.status === 'suspended' && (
            <Button size="xs" color="#a61b1b" onClick={() => void api('POST', `/admin/accounts/${encodeURIComponent(state.account.name)}/reinstate`).then(() => setReinstated((value) => value + 1), setError)}>
              Reinstate
            </Button>
          )}
        </Group>
      </Group>
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <Stat label="Waiting in the queue" value={String(state.queued)} />
        <Stat
          label="Bounce rate"
          value={percent(state.reputation.bounceRate)}
          note={state.reputation.thresholds ? `warning at ${percent(state.reputation.thresholds.bounceRateWarn)}, suspension at ${percent(state.reputation.thresholds.bounceRateSuspend)}` : undefined}
        />
        <Stat
          label="Complaint rate"
          value={percent(state.reputation.complaintRate)}
          note={state.reputation.thresholds ? `warning at ${percent(state.reputation.thresholds.complaintRateWarn)}, suspension at ${percent(state.reputation.thresholds.complaintRateSuspend)}` : undefined}
        />
        <Stat label={`Sent (${interval === 'hour' ? '48 hours' : '30 days'})`} value={String(totals[0]!.total)} />
      </SimpleGrid>
      <Paper withBorder p="md">
        <Group justify="space-between" mb="sm">
          <Title order={3} size="h5">
            Mail over time
          </Title>
          <Group gap={4} role="group" aria-label="Interval">
            {(['hour', 'day'] as const).map((value) => (
              <Badge key={value} component="button" variant={interval === value ? 'filled' : 'outline'} onClick={() => setInterval(value)} aria-pressed={interval === value} style={{ cursor: 'pointer' }}>
                per {value}
              </Badge>
            ))}
          </Group>
        </Group>
        {totals.every((entry) => entry.total === 0) ? <Empty>No mail in this period yet.</Empty> : <Chart times={chart.times} series={chart.series} label={`Mail per ${interval}`} />}
        <Table mt="sm" aria-label="Totals of the period">
          <Table.Tbody>
            {totals.map((entry) => (
              <Table.Tr key={entry.key}>
                <Table.Th scope="row">{entry.label}</Table.Th>
                <Table.Td>{entry.total}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Paper>
    </Stack>
  );
}

function Stat({ label, value, note }: { label: string; value: string; note?: string | undefined }) {
  return (
    <Paper withBorder p="md">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="xl" fw={700}>
        {value}
      </Text>
      {note && (
        <Text size="xs" c="dimmed">
          {note}
        </Text>
      )}
    </Paper>
  );
}
