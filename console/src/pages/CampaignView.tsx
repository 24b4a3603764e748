import { Alert, Anchor, Button, Group, Paper, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { ACTIONS, deletable, editable, pollDelay, type Campaign, type CampaignAction } from '../campaigns.js';
import { allLists } from '../lists.js';
import { outcomeFraction } from '../reportData.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { ErrorState, Loading } from '../components/states.js';
import { CampaignEditor } from './CampaignEditor.js';
import { CampaignReport } from './CampaignReport.js';
import { TestSend } from './TestSend.js';

const ACTION_LABELS: Record<CampaignAction, string> = { start: 'Start', pause: 'Pause', resume: 'Resume', cancel: 'Cancel campaign' };
const CONFIRM: Partial<Record<CampaignAction, (campaign: Campaign) => string>> = {
  start: (campaign) => (campaign.sendAt && Date.parse(campaign.sendAt) > Date.now() ? `Schedule ${campaign.name} for ${new Date(campaign.sendAt).toLocaleString()}?` : `Start sending ${campaign.name} now?`),
  cancel: (campaign) => `Cancel ${campaign.name} for good? What was stored already is still delivered.`,
};

/**
 * One campaign: its definition (edited while a draft or scheduled), a test send, start, pause,
 * resume and cancel, its progress read again every 2 s while it sends (the API has no stream of
 * campaign counts), and its report.
 */
export function CampaignView({ id }: { id: string }) {
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [listNames, setListNames] = useState<Map<string, string>>(new Map());
  const [reads, setReads] = useState(0);

  const load = useCallback(async () => {
    try {
      setCampaign((await api<{ data: Campaign }>('GET', `/campaigns/${encodeURIComponent(id)}`)).data);
      setError(null);
    } catch (failure) {
      setError(failure);
    } finally {
      // Counted failed reads too: a blip of the network does not stop the live progress.
      setReads((value) => value + 1);
    }
  }, [id]);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    allLists().then((lists) => setListNames(new Map(lists.map((list) => [list.id, list.name]))), () => undefined);
  }, []);

  const outcomes = campaign ? outcomeFraction(campaign.counts, campaign.report ?? null) : null;
  const delay = campaign && !editing ? pollDelay(campaign, outcomes) : null;
  useEffect(() => {
    if (delay === null) return undefined;
    const timer = window.setTimeout(() => void load(), delay);
    return () => window.clearTimeout(timer);
  }, [delay, load, reads]);

  const act = async (action: CampaignAction) => {
    if (!campaign) return;
    const question = CONFIRM[action]?.(campaign);
    if (question && !window.confirm(question)) return;
    setProblem(null);
    try {
      await api('POST', `/campaigns/${encodeURIComponent(campaign.id)}/${action}`);
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const remove = async () => {
    if (!campaign || !window.confirm(`Delete ${campaign.name}? Its ledger goes; its messages and reports stay.`)) return;
    setProblem(null);
    try {
      await api('DELETE', `/campaigns/${encodeURIComponent(campaign.id)}`);
      window.location.hash = '#/campaigns';
    } catch (failure) {
      setProblem(failure);
    }
  };

  if (error && !campaign) return <ErrorState error={error} title="The campaign could not be loaded" />;
  if (!campaign) return <Loading label="Loading the campaign…" />;
  if (editing) {
    return <CampaignEditor campaign={campaign} onCancel={() => setEditing(false)} onSaved={(saved) => { setCampaign({ ...saved, report: campaign.report ?? null }); setEditing(false); }} />;
  }
  const names = (ids: string[]) => (ids.length === 0 ? '–' : ids.map((list) => listNames.get(list) ?? list).join(', '));
  const tracking = (value: boolean | null) => (value === null ? 'account default' : value ? 'on' : 'off');
  return (
    <Stack>
      <Anchor href="#/campaigns" size="sm">
        ← All campaigns
      </Anchor>
      <Group justify="space-between">
        <Group gap="sm">
          <Title order={2} style={{ overflowWrap: 'anywhere' }}>
            {campaign.name}
          </Title>
          <span data-campaign-state={campaign.state}>
            <StatusBadge status={campaign.state} />
          </span>
        </Group>
        <Group gap="xs">
          {ACTIONS[campaign.state].map((action) => (
            <Button key={action} size="xs" variant={action === 'cancel' ? 'outline' : 'filled'} color={action === 'cancel' ? '#a61b1b' : undefined} onClick={() => void act(action)}>
              {ACTION_LABELS[action]}
            </Button>
          ))}
          {editable(campaign) && (
            <Button size="xs" variant="default" onClick={() => setEditing(true)}>
              Edit
            </Button>
          )}
          {deletable(campaign) && (
            <Button size="xs" variant="default" onClick={() => void remove()}>
              Delete
            </Button>
          )}
        </Group>
      </Group>
      {problem !== null && <ErrorState error={problem} title="The campaign was not changed" />}
      {error !== null && <ErrorState error={error} title="The campaign could not be read again" />}
      {campaign.error && (
        <Alert color="#a61b1b" variant="outline" title={`Paused by Mailroom: ${campaign.error.code}`} role="alert">
          {campaign.error.message} Resume tries again.
        </Alert>
      )}
      <Paper withBorder p="md">
        <Table aria-label="The campaign's definition" layout="fixed">
          <Table.Tbody>
            <Field label="From" value={campaign.from} />
            <Field label="Subject" value={campaign.subject ?? (campaign.templateId ? "the template's" : '–')} />
            <Field label="Content" value={campaign.templateId ? `template ${campaign.templateId}${campaign.templateVersion ? ` version ${campaign.templateVersion}` : ' (latest)'}` : [campaign.html && 'HTML', campaign.text && 'plain text'].filter(Boolean).join(' and ')} />
            <Field label="Lists" value={names(campaign.lists)} />
            <Field label="Left out" value={names(campaign.excludeLists)} />
            <Field label="Tags" value={campaign.tags.join(', ') || '–'} />
            <Field label="Tracking" value={`opens ${tracking(campaign.trackOpens)}, clicks ${tracking(campaign.trackClicks)}`} />
            <Field label="Sends" value={`${campaign.sendAt ? `at ${new Date(campaign.sendAt).toLocaleString()}` : 'when started'}, ${campaign.ratePerMinute ? `${campaign.ratePerMinute} per minute` : 'as fast as the account may'}`} />
          </Table.Tbody>
        </Table>
      </Paper>
      {campaign.state !== 'finished' && campaign.state !== 'canceled' && <TestSend campaignId={campaign.id} />}
      {campaign.state !== 'draft' && <CampaignProgress campaign={campaign} outcomes={outcomes} live={delay !== null} />}
      {campaign.state !== 'draft' && <CampaignReport campaign={campaign} reads={reads} onRefresh={() => void load()} />}
    </Stack>
  );
}

function Field({ label, value }: { label: string; value: string }) {
  return (
    <Table.Tr>
      <Table.Th scope="row" w={120}>
        {label}
      </Table.Th>
      <Table.Td style={{ overflowWrap: 'anywhere' }}>{value}</Table.Td>
    </Table.Tr>
  );
}

function CampaignProgress({ campaign, outcomes, live }: { campaign: Campaign; outcomes: number | null; live: boolean }) {
  const { counts } = campaign;
  const stored = counts.total === null ? null : counts.total === 0 ? 1 : Math.min(1, counts.processed / counts.total);
  const percent = (fraction: number) => Math.round(fraction * 100);
  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Progress
          </Title>
          {live && (
            <Text size="sm" c="dimmed" data-live="true">
              Updating live
            </Text>
          )}
        </Group>
        <Text size="sm" data-testid="campaign-processed">
          {counts.processed} of {counts.total ?? '?'} contacts processed
        </Text>
        <Progress value={stored === null ? 0 : percent(stored)} aria-label="Contacts processed" data-bar="processed" data-progress={stored === null ? undefined : percent(stored)} animated={campaign.state === 'running'} />
        <Text size="sm">
          Messages with an outcome (delivered, bounced, failed or rejected): {outcomes === null ? '–' : `${percent(outcomes)}%`}
        </Text>
        <Progress value={outcomes === null ? 0 : percent(outcomes)} aria-label="Messages with an outcome" color="#1b5e20" data-bar="outcomes" data-progress={outcomes === null ? undefined : percent(outcomes)} />
        <SimpleGrid cols={{ base: 2, sm: 5 }}>
          <Figure label="Queued" value={counts.queued} />
          <Figure label="Rejected (suppressed)" value={counts.rejected} />
          <Figure label="Refused" value={counts.refused} />
          <Figure label="Remaining" value={counts.remaining} />
          <Figure label="Audience" value={counts.total} />
        </SimpleGrid>
      </Stack>
    </Paper>
  );
}

function Figure({ label, value }: { label: string; value: number | null }) {
  return (
    <div>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={700} data-count={label}>
        {value ?? '–'}
      </Text>
    </div>
  );
}
