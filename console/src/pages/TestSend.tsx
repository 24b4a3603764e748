import { Anchor, Button, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { ErrorState } from '../components/states.js';

interface TestResult {
  to: string;
  id?: string;
  status?: string;
  error?: { code: string; message: string };
}

/** Sends the campaign's content now to up to 10 addresses (not counted in its report); one result per address. */
export function TestSend({ campaignId }: { campaignId: string }) {
  const [to, setTo] = useState('');
  const [results, setResults] = useState<TestResult[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [sending, setSending] = useState(false);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setResults(null);
    setSending(true);
    try {
      const addresses = to.split(/[,;\n]/).map((address) => address.trim()).filter(Boolean);
      setResults((await api<{ data: TestResult[] }>('POST', `/campaigns/${encodeURIComponent(campaignId)}/test`, { to: addresses })).data);
    } catch (failure) {
      setProblem(failure);
    } finally {
      setSending(false);
    }
  };

  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <Title order={3} size="h4">
          Test send
        </Title>
        <form onSubmit={(event) => void send(event)} aria-label="Send a test">
          <Group align="end">
            <TextInput
              label="Send a test to"
              description="Up to 10 addresses, separated by commas; a contact's address gets its placeholders"
              value={to}
              onChange={(event) => setTo(event.currentTarget.value)}
              required
              w={420}
              maw="100%"
            />
            <Button type="submit" variant="default" loading={sending}>
              Send test
            </Button>
          </Group>
        </form>
        {problem !== null && <ErrorState error={problem} title="No test was sent" />}
        {results && (
          <Table aria-label="Test results" data-testid="test-results">
            <Table.Tbody>
              {results.map((result, index) => (
                <Table.Tr key={`${result.to}-${index}`}>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{result.to}</Table.Td>
                  <Table.Td>
                    {result.id ? (
                      <Group gap="xs">
                        <StatusBadge status={result.status ?? ''} />
                        <Anchor href={`#/messages/${encodeURIComponent(result.id)}`} size="sm">
                          See the message
                        </Anchor>
                      </Group>
                    ) : (
                      <Text size="sm" c="#a61b1b">
                        {result.error ? `${result.error.code}: ${result.error.message}` : 'not sent'}
                      </Text>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Stack>
    </Paper>
  );
}
