import { AppShell, Burger, Button, Group, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useCallback, useEffect, useState } from 'react';
import { api, useCsrfToken, whenSignedOut, type SessionInfo } from './api.js';
import { routeOf } from './format.js';
import { AccountSwitcher } from './components/AccountSwitcher.js';
import { ErrorState, Loading } from './components/states.js';
import { ApiKeys } from './pages/ApiKeys.js';
import { Dashboard } from './pages/Dashboard.js';
import { Domains } from './pages/Domains.js';
import { Suppressions } from './pages/Suppressions.js';
import { Sandbox } from './pages/Sandbox.js';
import { Queue } from './pages/Queue.js';
import { Messages } from './pages/Messages.js';
import { MessageView } from './pages/MessageView.js';
import { SignIn } from './pages/SignIn.js';
import { Lists } from './pages/Lists.js';
import { Campaigns } from './pages/Campaigns.js';
import { Reports } from './pages/Reports.js';
import { Webhooks } from './pages/Webhooks.js';
import { Senders } from './pages/Senders.js';
import { Templates } from './pages/Templates.js';

const PAGES = [
  { path: '', label: 'Dashboard' },
  { path: 'messages', label: 'Messages' },
  { path: 'sandbox', label: 'Sandbox' },
  { path: 'queue', label: 'Queue' },
  { path: 'campaigns', label: 'Campaigns' },
  { path: 'lists', label: 'Lists' },
  { path: 'reports', label: 'Reports' },
  { path: 'domains', label: 'Domains' },
  { path: 'suppressions', label: 'Suppressions' },
  { path: 'webhooks', label: 'Webhooks' },
  { path: 'senders', label: 'Senders' },
  { path: 'templates', label: 'Templates' },
  { path: 'api-keys', label: 'API keys' },
] as const;

function useHashRoute(): string[] {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** `/login` signs in; every other page needs a session and lives under `/#/...` (no clash with the API's paths). */
export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const onLoginPage = window.location.pathname === '/login';

  const load = useCallback(async () => {
    try {
      const { data } = await api<{ data: SessionInfo }>('GET', '/session');
      useCsrfToken(data.csrfToken);
      setSession(data);
    } catch (problem) {
      if ((problem as { status?: number }).status === 401) setSession(null);
      else setError(problem);
    }
  }, []);
  useEffect(() => {
    whenSignedOut(() => window.location.assign('/login'));
    void load();
  }, [load]);

  if (error) return <ErrorState error={error} title="The console could not start" />;
  if (session === undefined) return <Loading label="Loading…" />;
  if (onLoginPage || session === null) {
    if (session && onLoginPage) {
      window.location.replace('/#/');
      return <Loading label="Signed in already…" />;
    }
    if (!onLoginPage) {
      window.location.replace('/login');
      return <Loading label="Sign in first…" />;
    }
    return <SignIn onSignedIn={() => window.location.assign('/#/')} />;
  }
  return <Shell session={session} />;
}

function Shell({ session }: { session: SessionInfo }) {
  const route = useHashRoute();
  const [opened, { toggle, close }] = useDisclosure();
  const [page = '', id] = route;
  const signOut = async () => {
    try {
      await api('DELETE', '/session');
    } finally {
      window.location.assign('/login');
    }
  };
  let content;
  if (page === 'messages' && id) content = <MessageView id={id} />;
  else if (page === 'messages') content = <Messages />;
  else if (page === 'api-keys') content = <ApiKeys />;
  else if (page === 'domains') content = <Domains id={id} />;
  else if (page === 'suppressions') content = <Suppressions />;
  else if (page === 'sandbox') content = <Sandbox id={id} />;
  else if (page === 'queue') content = <Queue />;
  else if (page === 'lists') content = <Lists id={id} />;
  else if (page === 'campaigns') content = <Campaigns id={id} />;
  else if (page === 'reports') content = <Reports />;
  else if (page === 'webhooks') content = <Webhooks id={id} />;
  else if (page === 'senders') content = <Senders />;
  else if (page === 'templates') content = <Templates id={id} />;
  else content = <Dashboard admin={session.role === 'admin'} />;

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Title order={1} size="h4">
              Mailroom
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            {session.role === 'admin' && <AccountSwitcher current={session.account} />}
            <Text size="sm" visibleFrom="xs">
              {session.operator} · {session.account}
            </Text>
            <Button variant="default" size="xs" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Pages">
        {PAGES.map((entry) => (
          <NavLink
            key={entry.path}
            href={`#/${entry.path}`}
            label={entry.label}
            active={page === entry.path}
            variant="filled"
            aria-current={page === entry.path ? 'page' : undefined}
            onClick={close}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{content}</AppShell.Main>
    </AppShell>
  );
}
