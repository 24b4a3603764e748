import { Anchor, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { onlyFieldErrors } from '../fieldErrors.js';
import { relativeTime } from '../format.js';
import { ShownOnce } from '../components/ShownOnce.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { NEW_WEBHOOK, WebhookForm, type WebhookFields } from '../components/WebhookForm.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { stateOf, WebhookView, type FreshSecret, type Webhook } from './WebhookView.js';

/** Webhooks: the list and a new one (`#/webhooks`), or one webhook (`#/webhooks/<id>`). */
export function Webhooks({ id }: { id?: string | undefined }) {
  const [secret, setSecret] = useState<FreshSecret | null>(null);
  // Shown on its webhook's page, and forgotten once the operator goes elsewhere.
  useEffect(() => setSecret((current) => (current && String(current.webhookId) === id ? current : null)), [id]);
  const shown = secret && String(secret.webhookId) === id ? secret : null;
  return (
    <Stack>
      {shown && (
        <ShownOnce
          title={shown.rotated ? 'New signing secret: copy it now, it is not shown again (the old one also signs for 24 hours)' : 'Webhook created. Its signing secret: copy it now, it is not shown again'}
          value={shown.secret}
          testId="webhook-secret"
          onClose={() => setSecret(null)}
        />
      )}
      {id ? <WebhookView key={id} id={id} onSecret={setSecret} /> : <WebhookList onSecret={setSecret} />}
    </Stack>
  );
}

function WebhookList({ onSecret }: { onSecret: (secret: FreshSecret) => void }) {
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      setWebhooks((await api<{ data: Webhook[] }>('GET', '/webhooks')).data);
    } catch (failure) {
      setError(failure);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const create = async (fields: WebhookFields) => {
    setProblem(null);
    try {
      const body = { url: fields.url, ordered: fields.ordered, ...(fields.description ? { description: fields.description } : {}), ...(fields.eventTypes.length > 0 ? { eventTypes: fields.eventTypes } : {}) };
      const { data } = await api<{ data: Webhook & { secret: string } }>('POST', '/webhooks', body);
      onSecret({ webhookId: data.id, secret: data.secret, rotated: false });
      window.location.hash = `#/webhooks/${data.id}`;
    } catch (failure) {
      setProblem(failure);
    }
  };

  return (
    <>
      <Title order={2}>Webhooks</Title>
      {error ? <ErrorState error={error} title="The webhooks could not be loaded" /> : !webhooks ? <Loading label="Loading webhooks…" /> : webhooks.length === 0 ? (
        <Empty>No webhooks yet: add one below to receive the account&apos;s events.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Webhooks">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">URL</Table.Th>
                <Table.Th scope="col">Events</Table.Th>
                <Table.Th scope="col">State</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {webhooks.map((webhook) => (
                <Table.Tr key={webhook.id} data-webhook-id={webhook.id}>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>
                    <Anchor href={`#/webhooks/${webhook.id}`}>{webhook.url}</Anchor>
                    {webhook.description && <Text size="xs" c="dimmed">{webhook.description}</Text>}
                  </Table.Td>
                  <Table.Td>{webhook.eventTypes.length === 0 ? 'all' : webhook.eventTypes.join(', ')}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={stateOf(webhook)} />
                  </Table.Td>
                  <Table.Td>{relativeTime(webhook.createdAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Paper withBorder p="md">
        <Title order={3} size="h5" mb="sm">
          New webhook
        </Title>
        <WebhookForm initial={NEW_WEBHOOK} submitLabel="Create webhook" problem={problem} onSubmit={create} />
      </Paper>
      {problem !== null && !onlyFieldErrors(problem, ['url', 'description', 'eventTypes']) && <ErrorState error={problem} title="The webhook was not created" />}
    </>
  );
}
