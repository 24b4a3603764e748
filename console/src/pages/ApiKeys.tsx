import { Badge, Button, Checkbox, Code, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { SmtpCredentials } from '../components/SmtpCredentials.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { ShownOnce } from '../components/ShownOnce.js';

interface KeyInfo {
  id: number;
  prefix: string;
  name: string;
  operator: string;
  scopes: string[] | null;
  createdAt: string;
  revokedAt: string | null;
}
interface Created {
  id: number;
  key: string;
  prefix: string;
  scopes: string[] | null;
}

const SCOPES = [
  { value: 'send', label: 'send (POST /emails, SMTP)' },
  { value: 'read', label: 'read (every GET)' },
  { value: 'admin', label: 'admin (every other change)' },
];

/** API keys: make one (shown once, with a copy button), list them by prefix, revoke one. */
export function ApiKeys() {
  const [keys, setKeys] = useState<KeyInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [created, setCreated] = useState<Created | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      setKeys((await api<{ data: KeyInfo[] }>('GET', '/api-keys?limit=1000')).data);
    } catch (failure) {
      setError(failure);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const body = scopes.length > 0 ? { name, scopes } : { name };
      setCreated((await api<{ data: Created }>('POST', '/api-keys', body)).data);
      setName('');
      setScopes([]);
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const revoke = async (key: KeyInfo) => {
    if (!window.confirm(`Revoke the key ${key.prefix}… (${key.name || 'no name'})? Whatever uses it stops working at once.`)) return;
    setProblem(null);
    try {
      await api('DELETE', `/api-keys/${key.id}`);
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };

  return (
    <Stack>
      <Title order={2}>API keys</Title>
      <Paper withBorder p="md">
        <form onSubmit={(event) => void create(event)} aria-labelledby="new-key-title">
          <Stack gap="sm">
            <Title order={3} size="h5" id="new-key-title">
              New key
            </Title>
            <TextInput label="Name" description="What will use it, e.g. the shop's server" value={name} onChange={(event) => setName(event.currentTarget.value)} maxLength={100} />
            <Checkbox.Group label="Scopes" description="None: the key may do everything" value={scopes} onChange={setScopes}>
              <Group mt="xs">
                {SCOPES.map((scope) => (
                  <Checkbox key={scope.value} value={scope.value} label={scope.label} />
                ))}
              </Group>
            </Checkbox.Group>
            <Group>
              <Button type="submit">Create key</Button>
            </Group>
          </Stack>
        </form>
      </Paper>
      {problem !== null && <ErrorState error={problem} title="The key was not changed" />}
      {created && (
        <ShownOnce title="Key created: copy it now, it is not shown again" value={created.key} testId="new-key" onClose={() => setCreated(null)} />
      )}
      {error ? <ErrorState error={error} title="The keys could not be loaded" /> : !keys ? <Loading label="Loading keys…" /> : keys.length === 0 ? <Empty>No keys yet.</Empty> : (
        <Table.ScrollContainer minWidth={640}>
          <Table aria-label="API keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Key</Table.Th>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Operator</Table.Th>
                <Table.Th scope="col">Scopes</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
                <Table.Th scope="col">State</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.map((key) => (
                <Table.Tr key={key.id} data-key-id={key.id}>
                  <Table.Td>
                    <Code>{key.prefix}…</Code>
                  </Table.Td>
                  <Table.Td>{key.name || <Text c="dimmed" span>no name</Text>}</Table.Td>
                  <Table.Td>{key.operator}</Table.Td>
                  <Table.Td>{key.scopes ? key.scopes.join(', ') : 'all'}</Table.Td>
                  <Table.Td>{relativeTime(key.createdAt)}</Table.Td>
                  <Table.Td>
                    {key.revokedAt ? (
                      <Badge color="gray.8" variant="outline">
                        revoked
                      </Badge>
                    ) : (
                      <Button size="xs" color="red" variant="light" onClick={() => void revoke(key)} aria-label={`Revoke key ${key.prefix}`}>
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <SmtpCredentials />
    </Stack>
  );
}
