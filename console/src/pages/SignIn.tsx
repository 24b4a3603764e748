import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { api, ApiProblem, useCsrfToken, type SessionInfo } from '../api.js';

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [account, setAccount] = useState('default');
  const [operator, setOperator] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const { data } = await api<{ data: SessionInfo }>('POST', '/session', { account, operator, password });
      useCsrfToken(data.csrfToken);
      onSignedIn();
    } catch (error) {
      setPassword('');
      if (error instanceof ApiProblem && error.code === 'OPERATOR_LOCKED') setProblem('Too many failed sign-ins: this operator is locked for a while. Try again later.');
      else if (error instanceof ApiProblem && error.code === 'RATE_LIMITED') setProblem(`Too many failed sign-ins from here. Try again in ${error.retryAfterSeconds ?? 60} seconds.`);
      else if (error instanceof ApiProblem && error.code === 'INVALID_CREDENTIALS') setProblem('The account, operator or password is not right.');
      else setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={380} maw="100%">
        <form onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-title">
          <Stack>
            <Title order={1} size="h3" id="sign-in-title">
              Sign in to Mailroom
            </Title>
            {problem && (
              <Alert color="red" role="alert">
                {problem}
              </Alert>
            )}
            <TextInput label="Account" name="account" required autoComplete="organization" value={account} onChange={(event) => setAccount(event.currentTarget.value)} />
            <TextInput label="Operator" name="operator" required autoComplete="username" value={operator} onChange={(event) => setOperator(event.currentTarget.value)} />
            <PasswordInput label="Password" name="password" required autoComplete="current-password" value={password} onChange={(event) => setPassword(event.currentTarget.value)} />
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
