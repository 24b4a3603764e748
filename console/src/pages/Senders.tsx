import { Alert, Button, Group, Paper, Stack, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { fieldErrorsOf } from '../fieldErrors.js';
import { relativeTime } from '../format.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface Sender {
  id: number;
  email: string;
  verified: boolean;
  verifiedBy: 'link' | 'domain' | 'sandbox' | null;
  verifiedAt: string | null;
  confirmationSentAt: string | null;
  createdAt: string;
  reason: string | null;
}

const HOW: Record<NonNullable<Sender['verifiedBy']>, string> = {
  link: 'confirmed by its link',
  domain: 'in a verified domain',
  sandbox: 'confirmed in the sandbox',
};

/** What a just-added or re-mailed address is waiting for, in words. */
function noticeFor(sender: Sender, resent: boolean): string {
  if (sender.verified) return `${sender.email} may send: ${sender.verifiedBy ? HOW[sender.verifiedBy] : 'verified'}.`;
  return `${resent ? 'A new' : 'A'} confirmation link was mailed to ${sender.email}; it may send once the link is opened (within 24 hours).`;
}

/** Sender addresses: add one (a confirmation link is mailed unless its domain is verified), resend that link, remove one. */
export function Senders() {
  const [senders, setSenders] = useState<Sender[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [email, setEmail] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      setSenders((await api<{ data: Sender[] }>('GET', '/senders')).data);
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setNotice(null);
    try {
      const { data } = await api<{ data: Sender }>('POST', '/senders', { email: email.trim() });
      setEmail('');
      setNotice(noticeFor(data, false));
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };
  const resend = async (sender: Sender) => {
    setProblem(null);
    setNotice(null);
    setBusy(sender.id);
    try {
      const { data } = await api<{ data: Sender }>('POST', `/senders/${sender.id}/resend`);
      setNotice(noticeFor(data, true));
      await load();
    } catch (failure) {
      setProblem(failure);
    } finally {
      setBusy(null);
    }
  };
  const remove = async (sender: Sender) => {
    if (!window.confirm(`Remove the sender ${sender.email}? Mail from it is refused until it is added and confirmed again (unless its domain is verified).`)) return;
    setProblem(null);
    setNotice(null);
    try {
      await api('DELETE', `/senders/${sender.id}`);
      await load();
    } catch (failure) {
      setProblem(failure);
    }
  };

  const emailError = fieldErrorsOf(problem).email;
  return (
    <Stack>
      <Title order={2}>Senders</Title>
      <Paper withBorder p="md">
        <form onSubmit={(event) => void add(event)} aria-label="Add a sender address">
          <Group align="end">
            <TextInput
              label="Sender address"
              description="An address to send from; a confirmation link is mailed to it unless its domain is verified"
              inputMode="email"
              autoComplete="off"
              value={email}
              onChange={(event) => setEmail(event.currentTarget.value)}
              error={emailError}
              required
              w={{ base: '100%', sm: 420 }}
            />
            <Button type="submit">Add sender</Button>
          </Group>
        </form>
      </Paper>
      {notice && (
        <Alert color="#0b4f8a" variant="outline" role="status" withCloseButton onClose={() => setNotice(null)} closeButtonLabel="Dismiss" data-testid="sender-notice">
          {notice}
        </Alert>
      )}
      {problem !== null && !emailError && <ErrorState error={problem} title="The sender was not changed" />}
      {error ? <ErrorState error={error} title="The senders could not be loaded" /> : !senders ? <Loading label="Loading senders…" /> : senders.length === 0 ? (
        <Empty>No sender addresses yet. Addresses in a verified domain may send without one; add any other address you send from.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Sender addresses">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Address</Table.Th>
                <Table.Th scope="col">State</Table.Th>
                <Table.Th scope="col">Confirmation mailed</Table.Th>
                <Table.Th scope="col">Added</Table.Th>
                <Table.Th scope="col">
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {senders.map((sender) => (
                <Table.Tr key={sender.id} data-sender={sender.email}>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{sender.email}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={sender.verified ? 'verified' : 'pending'} />
                    {sender.verified && sender.verifiedBy && <Text size="xs" c="dimmed">{HOW[sender.verifiedBy]}</Text>}
                    {sender.reason && <Text size="xs">{sender.reason}</Text>}
                  </Table.Td>
                  <Table.Td>{sender.confirmationSentAt ? relativeTime(sender.confirmationSentAt) : <Text span c="dimmed" size="sm">never</Text>}</Table.Td>
                  <Table.Td>{relativeTime(sender.createdAt)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap" justify="flex-end">
                      {!sender.verified && (
                        <Button size="xs" variant="default" loading={busy === sender.id} onClick={() => void resend(sender)} aria-label={`Resend confirmation to ${sender.email}`}>
                          Resend confirmation
                        </Button>
                      )}
                      <Button size="xs" variant="default" onClick={() => void remove(sender)} aria-label={`Remove ${sender.email}`}>
                        Remove
                      </Button>
                    </Group>
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
