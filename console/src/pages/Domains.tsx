import { Anchor, Button, Code, CopyButton, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface DomainRecord {
  purpose: string;
  type: string;
  name: string;
  value: string;
  priority?: number;
  status: string;
  reason?: string;
  required: boolean;
}
interface Domain {
  id: number;
  domain: string;
  status: string;
  records: DomainRecord[];
  lastCheckedAt: string | null;
}

/** Sending domains: add one, publish its records (each with a copy button and its state), verify, rotate the DKIM key, remove. */
export function Domains({ id }: { id?: string | undefined }) {
  const [domains, setDomains] = useState<Domain[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      setDomains((await api<{ data: Domain[] }>('GET', '/domains')).data);
    } catch (failure) {
      setError(failure);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const { data } = await api<{ data: Domain }>('POST', '/domains', { domain: name.trim() });
      setName('');
      await load();
      window.location.hash = `#/domains/${data.id}`;
    } catch (failure) {
      setProblem(failure);
    }
  };
  /**
   * Verify: look the records up now. Rotate: a new DKIM key under a new selector, which signs once
   * its record is found published (the current key signs until then). Remove: the domain and its keys.
   */
  const act = async (domain: Domain, action: 'verify' | 'rotate' | 'remove') => {
    if (action === 'rotate' && !window.confirm(`Start a DKIM key rotation for ${domain.domain}? Publish the new DKIM record, then verify: the new key signs once it is found.`)) return;
    if (action === 'remove' && !window.confirm(`Remove ${domain.domain}? Mail from it can no longer be signed or sent.`)) return;
    setProblem(null);
    setBusy(domain.id);
    try {
      if (action === 'remove') await api('DELETE', `/domains/${domain.id}`);
      else await api('POST', `/domains/${domain.id}/${action}`, action === 'rotate' ? {} : undefined);
      await load();
      if (action === 'remove' && id) window.location.hash = '#/domains';
    } catch (failure) {
      setProblem(failure);
    } finally {
      setBusy(null);
    }
  };

  if (error) return <ErrorState error={error} title="The domains could not be loaded" />;
  if (!domains) return <Loading label="Loading domains…" />;
  const shown = id ? domains.filter((domain) => String(domain.id) === id) : domains;
  return (
    <Stack>
      <Title order={2}>Domains</Title>
      <Paper withBorder p="md">
        <form onSubmit={(event) => void add(event)} aria-label="Add a domain">
          <Group align="end">
            <TextInput label="Domain" description="The domain of your From addresses, e.g. shop.example.com" value={name} onChange={(event) => setName(event.currentTarget.value)} required />
            <Button type="submit">Add domain</Button>
          </Group>
        </form>
      </Paper>
      {problem !== null && <ErrorState error={problem} title="The domain was not changed" />}
      {id && (
        <Anchor href="#/domains" size="sm">
          ← Every domain
        </Anchor>
      )}
      {shown.length === 0 ? <Empty>No domains yet: add the domain you send from, then publish its records.</Empty> : shown.map((domain) => (
        <Paper withBorder p="md" key={domain.id} data-domain={domain.domain}>
          <Group justify="space-between" mb="sm">
            <Group gap="sm">
              <Title order={3} size="h4">
                <Anchor href={`#/domains/${domain.id}`} c="inherit">
                  {domain.domain}
                </Anchor>
              </Title>
              <StatusBadge status={domain.status} />
            </Group>
            <Group gap="sm">
              <Text size="sm" c="dimmed">
                {domain.lastCheckedAt ? `checked ${new Date(domain.lastCheckedAt).toLocaleString()}` : 'not checked yet'}
              </Text>
              <Button size="xs" onClick={() => void act(domain, 'verify')} loading={busy === domain.id}>
                Verify now
              </Button>
              <Button size="xs" variant="default" onClick={() => void act(domain, 'rotate')} disabled={busy === domain.id} aria-label={`Rotate DKIM key of ${domain.domain}`}>
                Rotate DKIM key
              </Button>
              <Button size="xs" variant="outline" color="#a61b1b" onClick={() => void act(domain, 'remove')} disabled={busy === domain.id} aria-label={`Remove ${domain.domain}`}>
                Remove
              </Button>
            </Group>
          </Group>
          <Table.ScrollContainer minWidth={700}>
            <Table aria-label={`DNS records of ${domain.domain}`}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Type</Table.Th>
                  <Table.Th scope="col">Name</Table.Th>
                  <Table.Th scope="col">Value</Table.Th>
                  <Table.Th scope="col">State</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {domain.records.map((record, index) => (
                  <Table.Tr key={`${record.type}-${record.name}-${index}`} data-record-purpose={record.purpose}>
                    <Table.Td>{record.type}</Table.Td>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Code>{record.name}</Code>
                        <CopyButton value={record.name}>{({ copied, copy }) => <Button size="compact-xs" variant="default" onClick={copy} aria-label={`Copy the name of the ${record.type} record ${record.name}`}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={4} align="flex-start">
                        <Code style={{ overflowWrap: 'anywhere', maxWidth: 420 }}>{record.priority !== undefined ? `${record.priority} ${record.value}` : record.value}</Code>
                        <CopyButton value={record.priority !== undefined ? `${record.priority} ${record.value}` : record.value}>{({ copied, copy }) => <Button size="compact-xs" variant="default" onClick={copy} aria-label={`Copy the value of the ${record.type} record ${record.name}`}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
                      </Stack>
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge status={record.status} />
                      {!record.required && <Text size="xs" c="dimmed">optional</Text>}
                      {record.reason && <Text size="xs">{record.reason}</Text>}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Paper>
      ))}
    </Stack>
  );
}
