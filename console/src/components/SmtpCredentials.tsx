import { Alert, Button, Code, CopyButton, Group, Paper, SegmentedControl, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { Empty, ErrorState, Loading } from './states.js';

interface Credential {
  id: number;
  type: 'password' | 'ip';
  name: string;
  username: string | null;
  address: string | null;
  createdAt: string;
}

/**
 * The account's SMTP credentials (`/smtp-credentials`): a username and password for AUTH (the
 * password is in the creation answer only, like a new API key), or an address range that submits
 * without AUTH. An API key works over SMTP too, as the username "apikey".
 */
export function SmtpCredentials() {
  const [credentials, setCredentials] = useState<Credential[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [type, setType] = useState<'password' | 'ip'>('password');
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [created, setCreated] = useState<(Credential & { password?: string }) | null>(null);

  const load = useCallback(async () => {
    try {
      setCredentials((await api<{ data: Credential[] }>('GET', '/smtp-credentials')).data);
    } catch (failure) {
      setError(failure);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const body = type === 'ip' ? { type, name, address: address.trim() } : { type, name };
      setCreated((await api<{ data: Credential & { password?: string } }>('POST', '/smtp-credentials', body)).data);
      setName('');
      setAddress('');
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const revoke = async (credential: Credential) => {
    if (!window.confirm(`Revoke the SMTP credential ${credential.username ?? credential.address}? Whatever uses it stops sending at once.`)) return;
    setProblem(null);
    try {
      await api('DELETE', `/smtp-credentials/${credential.id}`);
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };

  return (
    <Stack>
      <Title order={2} size="h3">
        SMTP credentials
      </Title>
      <Paper withBorder p="md">
        <form onSubmit={(event) => void create(event)} aria-labelledby="new-smtp-title">
          <Stack gap="sm">
            <Title order={3} size="h5" id="new-smtp-title">
              New SMTP credential
            </Title>
            <SegmentedControl
              aria-label="Kind of credential"
              value={type}
              onChange={(value) => setType(value === 'ip' ? 'ip' : 'password')}
              data={[{ value: 'password', label: 'Username and password' }, { value: 'ip', label: 'Address range (no AUTH)' }]}
              style={{ alignSelf: 'flex-start' }}
            />
            <TextInput label="Credential name" description="What will use it, e.g. the billing server" value={name} onChange={(event) => setName(event.currentTarget.value)} maxLength={100} />
            {type === 'ip' && <TextInput label="Address or range" description="An IPv4 or IPv6 address, or a CIDR range such as 203.0.113.0/28" value={address} onChange={(event) => setAddress(event.currentTarget.value)} required />}
            <Group>
              <Button type="submit">Create SMTP credential</Button>
            </Group>
          </Stack>
        </form>
      </Paper>
      {problem !== null && <ErrorState error={problem} title="The SMTP credential was not changed" />}
      {created?.password && (
        <Alert color="#1b5e20" variant="filled" title="Credential created: copy the password now, it is not shown again" role="status" withCloseButton onClose={() => setCreated(null)} closeButtonLabel="Dismiss">
          <Stack gap={4}>
            <Text size="sm">Username</Text>
            <Code data-testid="new-smtp-username" c="black" bg="white">{created.username}</Code>
            <Text size="sm">Password</Text>
            <Group gap="sm" wrap="nowrap">
              <Code data-testid="new-smtp-password" c="black" bg="white" style={{ overflowWrap: 'anywhere' }}>
                {created.password}
              </Code>
              <CopyButton value={created.password}>{({ copied, copy }) => <Button size="xs" onClick={copy}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
            </Group>
          </Stack>
        </Alert>
      )}
      {error ? <ErrorState error={error} title="The SMTP credentials could not be loaded" /> : !credentials ? <Loading label="Loading SMTP credentials…" /> : credentials.length === 0 ? <Empty>No SMTP credentials yet (an API key also signs in over SMTP, as the username "apikey").</Empty> : (
        <Table.ScrollContainer minWidth={560}>
          <Table aria-label="SMTP credentials">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Username or range</Table.Th>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
                <Table.Th scope="col">Revoke</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {credentials.map((credential) => (
                <Table.Tr key={credential.id} data-smtp-credential={credential.username ?? credential.address}>
                  <Table.Td>
                    <Code>{credential.username ?? credential.address}</Code>
                  </Table.Td>
                  <Table.Td>{credential.name || <Text c="dimmed" span>no name</Text>}</Table.Td>
                  <Table.Td>{relativeTime(credential.createdAt)}</Table.Td>
                  <Table.Td>
                    <Button size="xs" color="red" variant="light" onClick={() => void revoke(credential)} aria-label={`Revoke SMTP credential ${credential.username ?? credential.address}`}>
                      Revoke
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
