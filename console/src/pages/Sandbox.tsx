import { Alert, Anchor, Button, Code, Group, List, Paper, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api, type Page } from '../api.js';
import { relativeTime } from '../format.js';
import { checkHtml } from '../htmlChecks.js';
import { ContentTabs, type ContentView } from '../components/ContentTabs.js';
import { LinkCheck } from '../components/LinkCheck.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { Pager, useCursorPages } from '../components/Pager.js';

interface Caught {
  id: number;
  messageId: string;
  envelope: { from: string; to: string[] };
  subject: string;
  size?: number;
  receivedAt: string;
}

/**
 * The sandbox catcher of the account (Mailpit-like): every message the sandbox transport took
 * instead of sending it, with the same views as a message's page, its raw source, an HTML
 * compatibility summary and a link check.
 */
export function Sandbox({ id }: { id?: string | undefined }) {
  return id ? <CaughtView id={id} /> : <CaughtList />;
}

function CaughtList() {
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<Caught> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setPage(await api('GET', `/sandbox/messages?limit=50${cursor ? `&cursor=${cursor}` : ''}`));
    } catch (failure) {
      setError(failure);
    }
  }, [cursor]);
  useEffect(() => void load(), [load]);
  const next = page?.meta.pagination?.nextCursor ?? null;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Sandbox</Title>
        <Button variant="default" size="xs" onClick={() => void load()}>
          Refresh
        </Button>
      </Group>
      <Text size="sm">Messages the sandbox transport caught instead of sending (MAILROOM_TRANSPORT=sandbox): nothing here left the machine.</Text>
      {error ? <ErrorState error={error} title="The sandbox could not be loaded" /> : !page ? <Loading label="Loading caught messages…" /> : page.data.length === 0 ? <Empty>Nothing caught yet.</Empty> : (
        <Table.ScrollContainer minWidth={600}>
          <Table striped aria-label="Caught messages">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Subject</Table.Th>
                <Table.Th scope="col">To</Table.Th>
                <Table.Th scope="col">From</Table.Th>
                <Table.Th scope="col">Caught</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((caught) => (
                <Table.Tr key={caught.id} data-caught-id={caught.id}>
                  <Table.Td>
                    <Anchor href={`#/sandbox/${caught.id}`}>{caught.subject || '(no subject)'}</Anchor>
                  </Table.Td>
                  <Table.Td>{caught.envelope.to.join(', ')}</Table.Td>
                  <Table.Td>{caught.envelope.from}</Table.Td>
                  <Table.Td>{relativeTime(caught.receivedAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager pages={pages} next={next} />
    </Stack>
  );
}

function CaughtView({ id }: { id: string }) {
  const [caught, setCaught] = useState<(Caught & { raw: string }) | null>(null);
  const [content, setContent] = useState<ContentView | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    Promise.all([api<{ data: Caught & { raw: string } }>('GET', `/sandbox/messages/${encodeURIComponent(id)}`), api<{ data: ContentView }>('GET', `/sandbox/messages/${encodeURIComponent(id)}/content`)]).then(
      ([read, parsed]) => {
        if (!live) return;
        setCaught(read.data);
        setContent(parsed.data);
      },
      (failure: unknown) => live && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [id]);

  if (error) return <ErrorState error={error} title="The caught message could not be loaded" />;
  if (!caught || !content) return <Loading label="Loading the caught message…" />;
  const findings = content.html ? checkHtml(content.html) : [];
  return (
    <Stack>
      <Anchor href="#/sandbox">← Sandbox</Anchor>
      <Title order={2} style={{ overflowWrap: 'anywhere' }}>
        {caught.subject || '(no subject)'}
      </Title>
      <Text size="sm">
        From {caught.envelope.from} to {caught.envelope.to.join(', ')}, caught {new Date(caught.receivedAt).toLocaleString()} ·{' '}
        <Anchor href={`#/messages/${encodeURIComponent(caught.messageId)}`}>the message</Anchor>
      </Text>
      <Paper withBorder p="md">
        <Title order={3} size="h5" mb="sm">
          HTML compatibility
        </Title>
        {!content.html ? (
          <Text size="sm">No HTML part.</Text>
        ) : findings.length === 0 ? (
          <Text size="sm" data-testid="html-findings">
            Nothing that the common mail clients are known to drop.
          </Text>
        ) : (
          <Alert color="#7a4a00" variant="outline" data-testid="html-findings">
            <List size="sm">
              {findings.map((finding) => (
                <List.Item key={finding.id} data-finding={finding.id}>
                  {finding.severity === 'problem' ? 'Problem: ' : 'Warning: '}
                  {finding.message}
                </List.Item>
              ))}
            </List>
          </Alert>
        )}
      </Paper>
      <LinkCheck caughtId={id} />
      <Paper withBorder p="md">
        <Tabs defaultValue="content">
          <Tabs.List>
            <Tabs.Tab value="content">Content</Tabs.Tab>
            <Tabs.Tab value="source">Raw source</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="content" pt="sm">
            <ContentTabs key={id} content={content} />
          </Tabs.Panel>
          <Tabs.Panel value="source" pt="sm">
            <Code block style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', maxHeight: 600, overflow: 'auto' }}>
              {caught.raw}
            </Code>
          </Tabs.Panel>
        </Tabs>
      </Paper>
    </Stack>
  );
}
