import { Anchor, Button, Code, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api.js';
import type { Campaign } from '../campaigns.js';
import { percent } from '../format.js';
import { campaignSeries, chartOf, OUTCOME_SERIES, seriesUrl, totalsOf, type ReportCounts } from '../reportData.js';
import { Chart } from '../components/Chart.js';
import { ScrollTable } from '../components/ScrollTable.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface Link {
  url: string;
  clicked: number;
  clickedUnique: number;
  clickedMachine: number;
}
type Report = ReportCounts & { links: Link[]; linkCount: number };
type Point = { time: string } & ReportCounts;

const EXPORTS = ['delivered', 'opened', 'clicked', 'bounced', 'unsubscribed', 'complained'] as const;
const LINKS_SHOWN = 20;

/**
 * A campaign's report: its counts and rates, its outcomes and engagement over time (a chart and
 * the numbers), its most clicked links, and the API's CSV exports. Read again with each read of
 * the campaign (`reads`), so it follows a live send.
 */
export function CampaignReport({ campaign, reads, onRefresh }: { campaign: Campaign; reads: number; onRefresh: () => void }) {
  const [state, setState] = useState<{ report: Report; points: Point[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const id = encodeURIComponent(campaign.id);

  useEffect(() => {
    let live = true;
    const range = campaignSeries(campaign.startedAt, new Date());
    Promise.all([
      api<{ data: Report }>('GET', `/campaigns/${id}/report?links=${LINKS_SHOWN}`),
      api<{ data: { points: Point[] } }>('GET', seriesUrl({ ...range, campaignId: campaign.id })),
    ]).then(
      ([report, series]) => {
        if (!live) return;
        // The same numbers keep the same state: the chart is drawn again only when they change.
        const next = { report: report.data, points: series.data.points };
        setState((current) => (current && JSON.stringify(current) === JSON.stringify(next) ? current : next));
        setError(null);
      },
      (failure: unknown) => live && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [id, campaign.id, campaign.startedAt, reads]);

  const chart = useMemo(() => (state ? chartOf(state.points, OUTCOME_SERIES) : null), [state]);
  if (error && !state) return <ErrorState error={error} title="The report could not be loaded" />;
  if (!state || !chart) return <Loading label="Loading the report…" />;
  const { report } = state;
  const count = (key: string) => Number(report[key]) || 0;
  const totals = totalsOf(state.points, OUTCOME_SERIES);
  const interval = campaignSeries(campaign.startedAt, new Date()).interval;

  return (
    <Paper withBorder p="md">
      <Stack>
        <Group justify="space-between">
          <Title order={3} size="h4">
            Report
          </Title>
          <Button size="xs" variant="default" onClick={onRefresh}>
            Refresh
          </Button>
        </Group>
        <SimpleGrid cols={{ base: 2, sm: 4 }} data-testid="campaign-report">
          <Stat label="Requested" value={String(count('requested'))} />
          <Stat label="Delivered" value={String(count('delivered') + count('sent'))} note={`${percent(report.deliveryRate)} of requested`} />
          <Stat label="Bounced" value={String(count('bounced'))} note={`${count('bouncedHard')} hard, ${count('bouncedSoft')} soft`} />
          <Stat label="Complained" value={String(count('complained'))} note={`${percent(report.complaintRate)} of delivered`} />
          <Stat label="Opened" value={String(count('openedUnique'))} note={`${percent(report.openRate)} of delivered; ${count('openedMachine')} by machines`} />
          <Stat label="Clicked" value={String(count('clickedUnique'))} note={`${percent(report.clickRate)} of delivered; ${percent(report.clickToOpenRate)} of opens`} />
          <Stat label="Unsubscribed" value={String(count('unsubscribed'))} />
          <Stat label="Rejected or failed" value={String(count('rejected') + count('failed'))} />
        </SimpleGrid>
        <Title order={4} size="h5">
          Per {interval}
        </Title>
        {totals.every((entry) => entry.total === 0) ? <Empty>Nothing counted yet.</Empty> : <Chart times={chart.times} series={chart.series} label={`The campaign's deliveries, bounces, opens and clicks per ${interval}`} />}
        <Table aria-label="Totals of the chart">
          <Table.Tbody>
            <Table.Tr>
              {totals.map((entry) => (
                <Table.Td key={entry.key}>
                  {entry.label}: <strong>{entry.total}</strong>
                </Table.Td>
              ))}
            </Table.Tr>
          </Table.Tbody>
        </Table>
        <Title order={4} size="h5">
          Links clicked
        </Title>
        {report.links.length === 0 ? <Empty>No link clicked yet.</Empty> : (
          <ScrollTable minWidth={560} label="The links clicked, scrolled sideways">
            <Table aria-label="Links clicked" data-testid="links-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Link</Table.Th>
                  <Table.Th scope="col">Clicks</Table.Th>
                  <Table.Th scope="col">Messages</Table.Th>
                  <Table.Th scope="col">By machines</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {report.links.map((link) => (
                  <Table.Tr key={link.url} data-url={link.url}>
                    <Table.Td>
                      {/* Shown as text, never a link: the URL is the campaign author's, and may be anything. */}
                      <Code style={{ overflowWrap: 'anywhere' }}>{link.url}</Code>
                    </Table.Td>
                    <Table.Td data-cell="clicked">{link.clicked}</Table.Td>
                    <Table.Td data-cell="clickedUnique">{link.clickedUnique}</Table.Td>
                    <Table.Td>{link.clickedMachine}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollTable>
        )}
        {report.linkCount > report.links.length && (
          <Text size="sm">
            The {report.links.length} most clicked of {report.linkCount} links; the CSV has every one.
          </Text>
        )}
        <Group gap="md">
          <Text size="sm" fw={700}>
            CSV:
          </Text>
          <Anchor href={`/campaigns/${id}/links?format=csv`} download="campaign-links.csv" size="sm" aria-label="Every link's clicks, as CSV">
            every link
          </Anchor>
          {EXPORTS.map((event) => (
            <Anchor key={event} href={`/campaigns/${id}/recipients.csv?event=${event}`} download={`recipients-${event}.csv`} size="sm" aria-label={`The recipients ${event}, as CSV`}>
              {event}
            </Anchor>
          ))}
        </Group>
      </Stack>
    </Paper>
  );
}

function Stat({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="lg" fw={700} data-stat={label}>
        {value}
      </Text>
      {note && (
        <Text size="xs" c="dimmed">
          {note}
        </Text>
      )}
    </div>
  );
}
