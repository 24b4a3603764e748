import { Anchor, Button, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api, type Page } from '../api.js';
import type { Campaign } from '../campaigns.js';
import { relativeTime } from '../format.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { CampaignEditor } from './CampaignEditor.js';
import { CampaignView } from './CampaignView.js';

const STATES = ['draft', 'scheduled', 'running', 'paused', 'finished', 'canceled'];

/** Campaigns (`#/campaigns`), a new one (`#/campaigns/new`) and one campaign (`#/campaigns/<id>`). */
export function Campaigns({ id }: { id?: string | undefined }) {
  if (id === 'new') return <CampaignEditor campaign={null} onSaved={(saved) => (window.location.hash = `#/campaigns/${encodeURIComponent(saved.id)}`)} />;
  return id ? <CampaignView id={id} /> : <AllCampaigns />;
}

function AllCampaigns() {
  const [state, setState] = useState('');
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<Campaign> | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const query = new URLSearchParams({ limit: '50' });
      if (state) query.set('state', state);
      if (cursor) query.set('cursor', cursor);
      setPage(await api('GET', `/campaigns?${query}`));
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, [state, cursor]);
  useEffect(() => void load(), [load]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Campaigns</Title>
        <Button component="a" href="#/campaigns/new">
          New campaign
        </Button>
      </Group>
      <Select
        label="State"
        data={[{ value: '', label: 'Any' }, ...STATES.map((value) => ({ value, label: value }))]}
        value={state}
        onChange={(value) => {
          setState(value ?? '');
          pages.reset();
        }}
        allowDeselect={false}
        w={200}
      />
      {error ? <ErrorState error={error} title="The campaigns could not be loaded" /> : !page ? <Loading label="Loading campaigns…" /> : page.data.length === 0 ? <Empty>No campaigns{state ? ` ${state}` : ''} yet.</Empty> : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Campaigns">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">State</Table.Th>
                <Table.Th scope="col">Processed</Table.Th>
                <Table.Th scope="col">Queued</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
                <Table.Th scope="col">Started</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((campaign) => (
                <Table.Tr key={campaign.id} data-campaign-id={campaign.id}>
                  <Table.Td>
                    <Anchor href={`#/campaigns/${encodeURIComponent(campaign.id)}`} style={{ overflowWrap: 'anywhere' }}>
                      {campaign.name}
                    </Anchor>
                    {campaign.subject && (
                      <Text size="xs" c="dimmed" lineClamp={1}>
                        {campaign.subject}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={campaign.state} />
                  </Table.Td>
                  <Table.Td>
                    {campaign.counts.processed}
                    {campaign.counts.total !== null && ` of ${campaign.counts.total}`}
                  </Table.Td>
                  <Table.Td>{campaign.counts.queued}</Table.Td>
                  <Table.Td>{relativeTime(campaign.createdAt)}</Table.Td>
                  <Table.Td>{campaign.startedAt ? relativeTime(campaign.startedAt) : campaign.sendAt ? `at ${new Date(campaign.sendAt).toLocaleString()}` : '–'}</Table.Td>
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
