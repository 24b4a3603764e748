import { Alert, Anchor, Button, Group, Paper, Stack, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api } from '../api.js';
import { onlyFieldErrors } from '../fieldErrors.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { WebhookForm, type WebhookFields } from '../components/WebhookForm.js';
import { ErrorState, Loading } from '../components/states.js';
import { WebhookAttempts } from './WebhookAttempts.js';

export interface Webhook {
  id: number;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  ordered: boolean;
  disabledReason: string | null;
  previousSecretUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A secret the API answered once (at creation or rotation), kept while the operator moves between the list and the webhook. */
export interface FreshSecret {
  webhookId: number;
  secret: string;
  rotated: boolean;
}

/** Paused by an operator, or disabled by Mailroom after 24 hours of failures (the reason says which). */
export const stateOf = (webhook: Webhook) => (webhook.enabled ? 'enabled' : webhook.disabledReason === 'disabled by the account' ? 'paused' : 'disabled');

/** One webhook: send a test event, pause or enable, rotate its secret, delete; change it; its delivery attempts, each of which can be sent again. */
export function WebhookView({ id, onSecret }: { id: string; onSecret: (secret: FreshSecret) => void }) {
  const [webhook, setWebhook] = useState<Webhook | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [editProblem, setEditProblem] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setWebhook((await api<{ data: Webhook }>('GET', `/webhooks/${encodeURIComponent(id)}`)).data);
    } catch (failure) {
      setError(failure);
    }
  }, [id]);
  useEffect(() => void load(), [load]);

  /** Runs one of the buttons' requests: one at a time, its problem shown, the webhook read again after. */
  const act = async (name: string, request: () => Promise<void>) => {
    setProblem(null);
    setNotice(null);
    setBusy(name);
    try {
      await request();
      await load();
    } catch (failure) {
      setProblem(failure);
    } finally {
      setBusy(null);
    }
  };
  const path = `/webhooks/${encodeURIComponent(id)}`;
  const sendTest = () => act('test', async () => {
    const { data } = await api<{ data: { deliveryId: number } }>('POST', `${path}/test`);
    setNotice(`A WEBHOOK_TEST event was queued (delivery ${data.deliveryId}); its attempt shows below once it is sent.`);
    setRefresh((value) => value + 1);
  });
  const setEnabled = (enabled: boolean) => act('enabled', async () => {
    await api('PATCH', path, { enabled });
    setNotice(enabled ? 'Enabled: the events held meanwhile are sent, oldest first.' : 'Paused: new events are held until it is enabled again.');
  });
  const rotate = () => {
    if (!window.confirm('Make a new signing secret? The old one keeps signing beside it for 24 hours, so the receiver can switch without losing events.')) return;
    void act('rotate', async () => {
      const { data } = await api<{ data: { secret: string } }>('POST', `${path}/rotate-secret`);
      onSecret({ webhookId: Number(id), secret: data.secret, rotated: true });
    });
  };
  const remove = () => {
    if (!window.confirm(`Delete the webhook to ${webhook?.url ?? id}? Its pending deliveries are dropped.`)) return;
    void act('delete', async () => {
      await api('DELETE', path);
      window.location.hash = '#/webhooks';
    });
  };
  const save = async (fields: WebhookFields) => {
    setEditProblem(null);
    setNotice(null);
    try {
      setWebhook((await api<{ data: Webhook }>('PATCH', path, fields)).data);
      setNotice('Saved.');
    } catch (failure) {
      setEditProblem(failure);
    }
  };
  const initial = useMemo<WebhookFields | null>(
    () => (webhook ? { url: webhook.url, description: webhook.description, eventTypes: webhook.eventTypes, ordered: webhook.ordered } : null),
    [webhook],
  );

  const back = (
    <Anchor href="#/webhooks" size="sm">
      ← Every webhook
    </Anchor>
  );
  if (error) return <>{back}<ErrorState error={error} title="The webhook could not be loaded" /></>;
  if (!webhook || !initial) return <Loading label="Loading the webhook…" />;
  return (
    <Stack>
      {back}
      <Group justify="space-between" align="start">
        <Stack gap={4} style={{ minWidth: 0 }}>
          <Title order={2} style={{ overflowWrap: 'anywhere' }}>
            {webhook.url}
          </Title>
          <Group gap="xs">
            <StatusBadge status={stateOf(webhook)} />
            {webhook.disabledReason && stateOf(webhook) === 'disabled' && <Text size="sm">{webhook.disabledReason}</Text>}
          </Group>
          {webhook.previousSecretUntil && <Text size="sm" c="dimmed">The previous secret also signs until {new Date(webhook.previousSecretUntil).toLocaleString()}.</Text>}
        </Stack>
        <Group gap="xs">
          <Button size="xs" onClick={() => void sendTest()} loading={busy === 'test'} disabled={!webhook.enabled}>
            Send test event
          </Button>
          <Button size="xs" variant="default" onClick={() => void setEnabled(!webhook.enabled)} loading={busy === 'enabled'}>
            {webhook.enabled ? 'Pause' : 'Enable'}
          </Button>
          <Button size="xs" variant="default" onClick={rotate} loading={busy === 'rotate'}>
            Rotate secret
          </Button>
          <Button size="xs" color="red" variant="light" onClick={remove} loading={busy === 'delete'}>
            Delete
          </Button>
        </Group>
      </Group>
      {notice && (
        <Alert color="#0b4f8a" variant="outline" role="status" withCloseButton onClose={() => setNotice(null)} closeButtonLabel="Dismiss">
          {notice}
        </Alert>
      )}
      {problem !== null && <ErrorState error={problem} title="The webhook was not changed" />}
      <WebhookAttempts webhookId={id} refresh={refresh} />
      <Paper withBorder p="md">
        <Title order={3} size="h5" mb="sm">
          Change the webhook
        </Title>
        <WebhookForm key={webhook.updatedAt} initial={initial} submitLabel="Save changes" problem={editProblem} onSubmit={save} />
        {editProblem !== null && !onlyFieldErrors(editProblem, ['url', 'description', 'eventTypes']) && <ErrorState error={editProblem} title="The webhook was not changed" />}
      </Paper>
    </Stack>
  );
}
