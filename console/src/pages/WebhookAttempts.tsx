import { Alert, Anchor, Badge, Button, Group, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api, type Page } from '../api.js';
import { relativeTime, statusColor } from '../format.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface Attempt {
  id: number;
  deliveryId: number;
  eventId: number;
  eventType: string;
  messageId: string | null;
  url: string;
  attemptedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  response: string | null;
  deliveryStatus: string;
}

/** The first page is read again this often, so a test event or a retry shows up without a click. */
const REFRESH_MS = 2000;
const SOON_MS = [250, 600, 1200];

/** What the receiver answered, or why there was no answer. */
function Result({ attempt }: { attempt: Attempt }) {
  const ok = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
  return (
    <Stack gap={2} align="flex-start">
      {attempt.statusCode !== null && (
        <Badge color={statusColor(ok ? 'delivered' : 'failed')} variant="outline" data-status-code={attempt.statusCode}>
          HTTP {attempt.statusCode}
        </Badge>
      )}
      {attempt.error && <Text size="xs" style={{ overflowWrap: 'anywhere' }}>{attempt.error}</Text>}
      {attempt.response && (
        <Text size="xs" c="dimmed" lineClamp={2} title={attempt.response} style={{ overflowWrap: 'anywhere' }}>
          {attempt.response}
        </Text>
      )}
    </Stack>
  );
}

/** A webhook's delivery attempts, newest first, a cursor page at a time; any delivery can be sent again. */
export function WebhookAttempts({ webhookId, refresh }: { webhookId: string; refresh: number }) {
  const pages = useCursorPages<string>();
  const { cursor, isFirst } = pages;
  const [page, setPage] = useState<Page<Attempt> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  /** Redeliveries made here (the test events are counted by the caller, in `refresh`). */
  const [sent, setSent] = useState(0);

  const load = useCallback(async () => {
    try {
      const query = new URLSearchParams({ limit: '25' });
      if (cursor) query.set('cursor', cursor);
      setPage(await api<Page<Attempt>>('GET', `/webhooks/${encodeURIComponent(webhookId)}/attempts?${query}`));
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, [webhookId, cursor]);
  useEffect(() => {
    void load();
    if (!isFirst) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load, isFirst]);
  // After a test event or a redelivery, its attempt is looked for sooner than the next refresh.
  useEffect(() => {
    if (refresh + sent === 0) return;
    const timers = SOON_MS.map((ms) => window.setTimeout(() => void load(), ms));
    return () => timers.forEach((timer) => window.clearTimeout(timer));
  }, [load, refresh, sent]);

  const redeliver = async (attempt: Attempt) => {
    setProblem(null);
    setNotice(null);
    try {
      const { data } = await api<{ data: { deliveryId: number } }>('POST', `/webhooks/${encodeURIComponent(webhookId)}/deliveries/${attempt.deliveryId}/redeliver`);
      setNotice(`The ${attempt.eventType} event is queued again (delivery ${data.deliveryId}).`);
      pages.reset();
      setSent((count) => count + 1);
    } catch (failure) {
      setProblem(failure);
    }
  };

  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={3} size="h4">
          Delivery attempts
        </Title>
        <Button size="xs" variant="default" onClick={() => void load()}>
          Refresh
        </Button>
      </Group>
      {notice && (
        <Alert color="#0b4f8a" variant="outline" role="status" withCloseButton onClose={() => setNotice(null)} closeButtonLabel="Dismiss">
          {notice}
        </Alert>
      )}
      {problem !== null && <ErrorState error={problem} title="The delivery was not sent again" />}
      {error ? <ErrorState error={error} title="The attempts could not be loaded" /> : !page ? <Loading label="Loading the attempts…" /> : page.data.length === 0 ? (
        <Empty>No attempts yet: events are sent as they happen; &quot;Send test event&quot; sends one now.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={760}>
          <Table aria-label="Delivery attempts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">When</Table.Th>
                <Table.Th scope="col">Event</Table.Th>
                <Table.Th scope="col">Result</Table.Th>
                <Table.Th scope="col">Took</Table.Th>
                <Table.Th scope="col">Delivery</Table.Th>
                <Table.Th scope="col">
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((attempt) => (
                <Table.Tr key={attempt.id} data-attempt-id={attempt.id} data-delivery-id={attempt.deliveryId} data-event-type={attempt.eventType}>
                  <Table.Td title={new Date(attempt.attemptedAt).toLocaleString()}>{relativeTime(attempt.attemptedAt)}</Table.Td>
                  <Table.Td>
                    <Text size="sm">{attempt.eventType}</Text>
                    {attempt.messageId && (
                      <Anchor href={`#/messages/${encodeURIComponent(attempt.messageId)}`} size="xs">
                        {attempt.messageId}
                      </Anchor>
                    )}
                  </Table.Td>
                  <Table.Td maw={320}>
                    <Result attempt={attempt} />
                  </Table.Td>
                  <Table.Td>{attempt.durationMs} ms</Table.Td>
                  <Table.Td>
                    <StatusBadge status={attempt.deliveryStatus} />
                  </Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="default" onClick={() => void redeliver(attempt)} aria-label={`Redeliver the ${attempt.eventType} event of delivery ${attempt.deliveryId}`}>
                      Redeliver
                    </Button>
                  </Table.Td>
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
