import { Anchor, Paper, Table, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { Empty, ErrorState, Loading } from './states.js';
import { StatusBadge } from './StatusBadge.js';

interface Attempt {
  id: number;
  webhookId: number | null;
  eventType: string;
  url: string;
  attemptedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  deliveryStatus: string;
}

/**
 * Every attempt to send a message's events out: to the callback URLs the message named
 * (`/emails/{id}/callbacks`) and to the account's webhooks (`/emails/{id}/webhook-attempts`),
 * oldest first. `refresh` changes when the timeline grows, so new attempts show up with it.
 */
export function MessageAttempts({ messageId, refresh }: { messageId: string; refresh: number }) {
  const [attempts, setAttempts] = useState<Attempt[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    const path = `/emails/${encodeURIComponent(messageId)}`;
    Promise.all([api<{ data: Attempt[] }>('GET', `${path}/callbacks`), api<{ data: Attempt[] }>('GET', `${path}/webhook-attempts`)]).then(
      ([callbacks, webhooks]) => live && setAttempts([...callbacks.data, ...webhooks.data].sort((a, b) => a.id - b.id)),
      (failure: unknown) => live && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [messageId, refresh]);

  return (
    <Paper withBorder p="md">
      <Title order={3} size="h5" mb="sm">
        Callbacks and webhooks
      </Title>
      {error ? <ErrorState error={error} title="The attempts could not be loaded" /> : !attempts ? <Loading label="Loading the attempts…" /> : attempts.length === 0 ? <Empty>No event of this message was sent to a callback or a webhook.</Empty> : (
        <Table.ScrollContainer minWidth={700}>
          <Table aria-label="Attempts to send the message's events">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Event</Table.Th>
                <Table.Th scope="col">Sent to</Table.Th>
                <Table.Th scope="col">Answer</Table.Th>
                <Table.Th scope="col">When</Table.Th>
                <Table.Th scope="col">Delivery</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {attempts.map((attempt) => (
                <Table.Tr key={attempt.id} data-attempt-event={attempt.eventType}>
                  <Table.Td>{attempt.eventType}</Table.Td>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>
                    {attempt.webhookId === null ? (
                      <Text size="sm">Callback: {attempt.url}</Text>
                    ) : (
                      <Anchor size="sm" href={`#/webhooks/${attempt.webhookId}`}>
                        Webhook {attempt.webhookId}: {attempt.url}
                      </Anchor>
                    )}
                  </Table.Td>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>
                    <Text size="sm">{attempt.statusCode !== null ? `HTTP ${attempt.statusCode}` : attempt.error ?? '–'}</Text>
                    {attempt.statusCode !== null && attempt.error && <Text size="xs" c="dimmed">{attempt.error}</Text>}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{new Date(attempt.attemptedAt).toLocaleString()}</Text>
                    <Text size="xs" c="dimmed">{attempt.durationMs} ms</Text>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={attempt.deliveryStatus} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Paper>
  );
}
