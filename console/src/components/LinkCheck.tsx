import { Button, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api.js';
import { Empty, ErrorState, Loading } from './states.js';
import { StatusBadge } from './StatusBadge.js';

interface LinkResult {
  url: string;
  kind: 'link' | 'image';
  text: string | null;
  verdict: 'ok' | 'broken' | 'unreachable' | 'refused' | 'skipped';
  statusCode: number | null;
  finalUrl: string | null;
  redirects: number;
  trackedTarget: string | null;
  reason: string | null;
  durationMs: number;
}

/** Long URLs wrap anywhere rather than widen the table past a phone's screen. */
const WRAP = { overflowWrap: 'anywhere' } as const;

/**
 * The sandbox's link check: on request (it makes the server call every link of the message), each
 * link and image with what its target answered. URLs are shown as text, never as live links: the
 * message is untrusted, and a reader clicking through from the console would leak the session's
 * page in the Referer and could count a tracked click.
 */
export function LinkCheck({ caughtId }: { caughtId: string }) {
  const [results, setResults] = useState<LinkResult[] | null>(null);
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setChecking(true);
    setError(null);
    try {
      setResults((await api<{ data: LinkResult[] }>('GET', `/sandbox/messages/${encodeURIComponent(caughtId)}/links`)).data);
    } catch (failure) {
      setError(failure);
    } finally {
      setChecking(false);
    }
  };
  const broken = results?.filter((result) => result.verdict !== 'ok' && result.verdict !== 'skipped').length ?? 0;

  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          Link check
        </Title>
        <Button size="xs" variant="default" loading={checking} onClick={() => void run()}>
          {results ? 'Check again' : 'Check links'}
        </Button>
      </Group>
      {error !== null && <ErrorState error={error} title="The links could not be checked" />}
      {checking && !results && <Loading label="Asking each link's server…" />}
      {!results && !checking && error === null && <Text size="sm">Asks the server behind each link and image whether it answers (private addresses are never called).</Text>}
      {results && results.length === 0 && <Empty>The message has no links or images.</Empty>}
      {results && results.length > 0 && (
        <Stack gap="xs">
          <Text size="sm" role="status" data-testid="link-summary">
            {results.length} checked: {broken === 0 ? 'no problem found.' : `${broken} with a problem.`}
          </Text>
          <Table.ScrollContainer minWidth={320}>
            <Table aria-label="Links of the message and what they answered">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Link</Table.Th>
                  <Table.Th scope="col">Result</Table.Th>
                  <Table.Th scope="col">Details</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {results.map((result, index) => (
                  <Table.Tr key={`${index}:${result.url}`} data-link-verdict={result.verdict}>
                    <Table.Td style={WRAP}>
                      {result.text && <Text size="sm" fw={600}>{result.kind === 'image' ? `Image: ${result.text}` : result.text}</Text>}
                      <Text size="xs" ff="monospace" style={WRAP}>
                        {result.trackedTarget ?? result.url}
                      </Text>
                      {result.trackedTarget && <Text size="xs" c="dimmed">through click tracking</Text>}
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge status={result.verdict} />
                    </Table.Td>
                    <Table.Td style={WRAP}>
                      <Text size="xs">
                        {result.statusCode !== null && `HTTP ${result.statusCode}`}
                        {result.redirects > 0 && ` after ${result.redirects} redirect(s) to `}
                        {result.redirects > 0 && result.finalUrl && <Text component="span" size="xs" ff="monospace">{result.finalUrl}</Text>}
                        {result.reason && (result.statusCode !== null ? ` · ${result.reason}` : result.reason)}
                        {result.verdict !== 'skipped' && ` · ${result.durationMs} ms`}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Stack>
      )}
    </Paper>
  );
}
