import { Anchor, Button, Group, Paper, SimpleGrid, Stack, Table, Text, Timeline, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { ContentTabs, type ContentView } from '../components/ContentTabs.js';
import { MessageAttempts } from '../components/MessageAttempts.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface Message {
  id: string;
  to: string;
  from: string;
  subject: string;
  text: string;
  status: string;
  operator: string;
  externalId: string | null;
  clientId: string | null;
  campaignId: string | null;
  tags: string[];
  cc: string[];
  bcc: string[];
  submittedBy: string;
  createdAt: string;
  updatedAt: string;
}
interface TimelineEvent {
  id: number;
  type: string;
  timestamp: string;
  details: Record<string, unknown>;
}

const WAITING = new Set(['QUEUED', 'DEFERRED', 'SCHEDULED']);

/** What the remote server and Mailroom said about an event, in a line (the rest is under it, as JSON). */
function summary(details: Record<string, unknown>): string {
  const parts = ['response', 'reason', 'bounceClass', 'host', 'tls', 'dkim', 'error'].flatMap((key) => (details[key] === undefined || details[key] === null ? [] : [`${key}: ${typeof details[key] === 'string' ? details[key] : JSON.stringify(details[key])}`]));
  return parts.join(' · ');
}

/** One message: its fields, its timeline of events with the remote replies, the attempts to send those events out, and its content. */
export function MessageView({ id }: { id: string }) {
  const [message, setMessage] = useState<Message | null>(null);
  const [events, setEvents] = useState<TimelineEvent[] | null>(null);
  const [content, setContent] = useState<ContentView | null | undefined>(undefined);
  const [actionProblem, setActionProblem] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  /** Retry (due now) or cancel (out of the queue, REJECTED) a message that waits. */
  const act = async (action: 'retry' | 'cancel') => {
    if (action === 'cancel' && !window.confirm('Cancel this message? It will not be sent.')) return;
    setActionProblem(null);
    try {
      await api('POST', `/emails/${encodeURIComponent(id)}/${action}`);
      setVersion((value) => value + 1);
    } catch (failure) {
      setActionProblem(failure);
    }
  };
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    const load = () =>
      Promise.all([api<{ data: Message }>('GET', `/emails/${encodeURIComponent(id)}`), api<{ data: TimelineEvent[] }>('GET', `/emails/${encodeURIComponent(id)}/events`)]).then(
        ([read, timeline]) => {
          if (!live) return;
          setMessage(read.data);
          setEvents(timeline.data);
        },
        (problem: unknown) => live && setError(problem),
      );
    void load();
    setContent(undefined);
    api<{ data: ContentView }>('GET', `/emails/${encodeURIComponent(id)}/content`).then(
      (read) => live && setContent(read.data),
      () => live && setContent(null),
    );
    // The timeline grows while the message is delivered: the event stream says when.
    const stream = new EventSource('/events/stream');
    const onEvent = (event: MessageEvent<string>) => {
      try {
        if ((JSON.parse(event.data) as { messageId?: string }).messageId === id) void load();
      } catch {
        // not an event of ours
      }
    };
    const types = ['QUEUED', 'DEFERRED', 'SENT', 'DELIVERED', 'BOUNCED', 'REJECTED', 'FAILED', 'COMPLAINED', 'OPENED', 'CLICKED', 'UNSUBSCRIBED'];
    for (const type of types) stream.addEventListener(type, onEvent);
    return () => {
      live = false;
      stream.close();
    };
  }, [id, version]);

  if (error) return <ErrorState error={error} title="The message could not be loaded" />;
  if (!message || !events) return <Loading label="Loading the message…" />;
  const fields: [string, string][] = [
    ['From', message.from],
    ['To', message.to],
    ...(message.cc.length > 0 ? [['Cc', message.cc.join(', ')] as [string, string]] : []),
    ['Operator', message.operator],
    ['Submitted by', message.submittedBy === 'smtp' ? 'SMTP' : 'HTTP API'],
    ['External id', message.externalId ?? '–'],
    ['Client id', message.clientId ?? '–'],
    ['Campaign', message.campaignId ?? '–'],
    ['Tags', message.tags.length > 0 ? message.tags.join(', ') : '–'],
    ['Created', message.createdAt],
    ['Id', message.id],
  ];
  return (
    <Stack>
      <Anchor href="#/messages">← Messages</Anchor>
      <Group justify="space-between" align="start">
        <Title order={2} style={{ overflowWrap: 'anywhere' }}>
          {message.subject || '(no subject)'}
        </Title>
        <Group gap="xs">
          <StatusBadge status={message.status} />
          {WAITING.has(message.status) && (
            <>
              <Button size="xs" variant="default" onClick={() => void act('retry')}>
                Retry now
              </Button>
              <Button size="xs" color="#a61b1b" variant="outline" onClick={() => void act('cancel')}>
                Cancel
              </Button>
            </>
          )}
        </Group>
      </Group>
      {actionProblem !== null && <ErrorState error={actionProblem} title="The message was not changed" />}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Paper withBorder p="md">
          <Table aria-label="Message details">
            <Table.Tbody>
              {fields.map(([label, value]) => (
                <Table.Tr key={label}>
                  <Table.Th scope="row" w={130}>
                    {label}
                  </Table.Th>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{value}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Paper>
        <Paper withBorder p="md">
          <Title order={3} size="h5" mb="sm">
            Timeline
          </Title>
          {events.length === 0 ? (
            <Empty>No events yet.</Empty>
          ) : (
            <Timeline active={events.length - 1} bulletSize={14} lineWidth={2} aria-label="Events">
              {events.map((event) => (
                <Timeline.Item key={event.id} title={event.type} data-event-type={event.type}>
                  <Text size="xs" c="dimmed">
                    {new Date(event.timestamp).toLocaleString()}
                  </Text>
                  {summary(event.details) && <Text size="sm">{summary(event.details)}</Text>}
                </Timeline.Item>
              ))}
            </Timeline>
          )}
        </Paper>
      </SimpleGrid>
      <MessageAttempts messageId={id} refresh={events.length} />
      <Paper withBorder p="md">
        <Title order={3} size="h5" mb="sm">
          Content
        </Title>
        {content === undefined ? <Loading label="Loading the content…" /> : content === null ? <Empty>The content of this message is not shown.</Empty> : <ContentTabs key={id} content={content} />}
      </Paper>
    </Stack>
  );
}
