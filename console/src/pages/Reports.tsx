import { Anchor, Button, Group, Paper, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, type Page } from '../api.js';
import { percent } from '../format.js';
import { chartOf, GROUP_BYS, isCampaignId, OUTCOME_SERIES, rangeOf, reportUrl, seriesUrl, totalsOf, utcDate, type GroupBy, type Interval, type ReportCounts } from '../reportData.js';
import { Chart } from '../components/Chart.js';
import { ScrollTable } from '../components/ScrollTable.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

type Row = { key: string } & ReportCounts;
type Point = { time: string } & ReportCounts;

const GROUP_LABELS: Record<GroupBy, string> = {
  campaign: 'Campaign', tag: 'Tag', domain: 'Recipient domain', externalId: 'externalId', clientId: 'clientId', day: 'Day (UTC)', hour: 'Hour',
};
const COLUMNS = [
  { key: 'requested', label: 'Requested' },
  { key: 'delivered', label: 'Delivered' },
  { key: 'bounced', label: 'Bounced' },
  { key: 'complained', label: 'Complained' },
  { key: 'openedUnique', label: 'Opened' },
  { key: 'clickedUnique', label: 'Clicked' },
  { key: 'unsubscribed', label: 'Unsubscribed' },
] as const;
const RATES = [
  { key: 'deliveryRate', label: 'Delivery' },
  { key: 'bounceRate', label: 'Bounce' },
  { key: 'openRate', label: 'Open' },
  { key: 'clickRate', label: 'Click' },
] as const;

/**
 * The account's reports over a range of UTC days: a chart per hour or day (GET
 * /reports/timeseries) and a table of rows per campaign, tag, domain, externalId, clientId, day or
 * hour (GET /reports), each downloadable as the CSV the API writes (format=csv: every row, not
 * only the page shown).
 */
export function Reports() {
  const [dates, setDates] = useState(() => ({ from: utcDate(new Date(), 29), to: utcDate(new Date()) }));
  const [applied, setApplied] = useState(dates);
  const [interval, setSeriesInterval] = useState<Interval>('day');
  const [groupBy, setGroupBy] = useState<GroupBy>('campaign');
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [points, setPoints] = useState<Point[] | null>(null);
  const [seriesError, setSeriesError] = useState<unknown>(null);
  const [rows, setRows] = useState<Page<Row> | null>(null);
  const [rowsError, setRowsError] = useState<unknown>(null);
  const range = useMemo(() => rangeOf(applied.from, applied.to), [applied]);

  useEffect(() => {
    if (!range) return undefined;
    let live = true;
    setPoints(null);
    setSeriesError(null);
    api<{ data: { points: Point[] } }>('GET', seriesUrl({ interval, ...range })).then((answer) => live && setPoints(answer.data.points), (failure: unknown) => live && setSeriesError(failure));
    return () => {
      live = false;
    };
  }, [interval, range]);
  useEffect(() => {
    if (!range) return undefined;
    let live = true;
    setRows(null);
    setRowsError(null);
    api<Page<Row>>('GET', reportUrl({ groupBy, ...range, limit: 50, cursor })).then((answer) => live && setRows(answer), (failure: unknown) => live && setRowsError(failure));
    return () => {
      live = false;
    };
  }, [groupBy, cursor, range]);

  const chart = useMemo(() => (points ? chartOf(points, OUTCOME_SERIES) : null), [points]);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    pages.reset();
    setApplied(dates);
  };

  return (
    <Stack>
      <Title order={2}>Reports</Title>
      <Paper withBorder p="md">
        <form onSubmit={apply} aria-label="The report's range">
          <Group align="end">
            <TextInput label="From (UTC day)" type="date" value={dates.from} onChange={(event) => setDates({ ...dates, from: event.currentTarget.value })} required />
            <TextInput label="To (UTC day, included)" type="date" value={dates.to} onChange={(event) => setDates({ ...dates, to: event.currentTarget.value })} required />
            <Button type="submit">Show</Button>
          </Group>
        </form>
        {!range && (
          <Text size="sm" c="#a61b1b" mt="xs" role="alert">
            Give two days, the first not after the second.
          </Text>
        )}
      </Paper>
      {range && (
        <>
          <Paper withBorder p="md">
            <Stack>
              <Group justify="space-between" align="end">
                <Title order={3} size="h4">
                  Over time
                </Title>
                <Group align="end">
                  <Select label="Per" data={[{ value: 'day', label: 'day' }, { value: 'hour', label: 'hour' }]} value={interval} onChange={(value) => setSeriesInterval(value === 'hour' ? 'hour' : 'day')} allowDeselect={false} w={120} />
                  <Anchor href={seriesUrl({ interval, ...range, format: 'csv' })} download={`timeseries-${interval}.csv`}>
                    Download the series as CSV
                  </Anchor>
                </Group>
              </Group>
              {seriesError ? <ErrorState error={seriesError} title="The series could not be loaded" /> : !points || !chart ? <Loading label="Loading the series…" /> : (
                <SeriesView points={points} chart={chart} interval={interval} />
              )}
            </Stack>
          </Paper>
          <Paper withBorder p="md">
            <Stack>
              <Group justify="space-between" align="end">
                <Title order={3} size="h4">
                  Table
                </Title>
                <Group align="end">
                  <Select
                    label="A row per"
                    data={GROUP_BYS.map((value) => ({ value, label: GROUP_LABELS[value] }))}
                    value={groupBy}
                    onChange={(value) => {
                      setGroupBy((value ?? 'campaign') as GroupBy);
                      pages.reset();
                    }}
                    allowDeselect={false}
                    w={200}
                  />
                  <Anchor href={reportUrl({ groupBy, ...range, format: 'csv' })} download={`report-${groupBy}.csv`}>
                    Download the table as CSV
                  </Anchor>
                </Group>
              </Group>
              {rowsError ? <ErrorState error={rowsError} title="The report could not be loaded" /> : !rows ? <Loading label="Loading the report…" /> : rows.data.length === 0 ? <Empty>Nothing in this range.</Empty> : (
                <ReportTable rows={rows.data} groupBy={groupBy} />
              )}
              <Pager pages={pages} next={rows?.meta.pagination?.nextCursor} labels={['Previous', 'Next']} />
            </Stack>
          </Paper>
        </>
      )}
    </Stack>
  );
}

function SeriesView({ points, chart, interval }: { points: Point[]; chart: ReturnType<typeof chartOf>; interval: Interval }) {
  const totals = totalsOf(points, OUTCOME_SERIES);
  return (
    <>
      {totals.every((entry) => entry.total === 0) ? <Empty>No mail in this range.</Empty> : <Chart times={chart.times} series={chart.series} label={`Deliveries, bounces, opens and clicks per ${interval}`} />}
      <Table aria-label="Totals of the range">
        <Table.Tbody>
          <Table.Tr>
            {totals.map((entry) => (
              <Table.Td key={entry.key} data-total={entry.key}>
                {entry.label}: <strong>{entry.total}</strong>
              </Table.Td>
            ))}
          </Table.Tr>
        </Table.Tbody>
      </Table>
    </>
  );
}

function ReportTable({ rows, groupBy }: { rows: Row[]; groupBy: GroupBy }) {
  return (
    <ScrollTable minWidth={960} label="The report, scrolled sideways">
      <Table aria-label="Report" striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{GROUP_LABELS[groupBy]}</Table.Th>
            {COLUMNS.map((column) => (
              <Table.Th scope="col" key={column.key}>
                {column.label}
              </Table.Th>
            ))}
            {RATES.map((rate) => (
              <Table.Th scope="col" key={rate.key}>
                {rate.label} rate
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={row.key} data-report-key={row.key}>
              <Table.Th scope="row" style={{ overflowWrap: 'anywhere', fontWeight: 400 }}>
                {groupBy === 'campaign' && isCampaignId(row.key) ? <Anchor href={`#/campaigns/${row.key}`}>{row.key}</Anchor> : row.key}
              </Table.Th>
              {COLUMNS.map((column) => (
                <Table.Td key={column.key} data-cell={column.key}>
                  {Number(row[column.key]) || 0}
                </Table.Td>
              ))}
              {RATES.map((rate) => (
                <Table.Td key={rate.key}>{percent(row[rate.key])}</Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </ScrollTable>
  );
}
