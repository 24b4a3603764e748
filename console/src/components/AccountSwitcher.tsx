import { Select } from '@mantine/core';
import { useEffect, useState } from 'react';
import { api } from '../api.js';

interface AccountEntry {
  name: string;
  status: string;
  hipaa: boolean;
}

/** An admin operator's account switch: the session then acts on the chosen account (HIPAA accounts are not served here). */
export function AccountSwitcher({ current }: { current: string }) {
  const [accounts, setAccounts] = useState<AccountEntry[]>([]);
  useEffect(() => {
    api<{ data: AccountEntry[] }>('GET', '/admin/accounts').then((read) => setAccounts(read.data.filter((account) => !account.hipaa)), () => setAccounts([]));
  }, []);
  if (accounts.length === 0) return null;
  const choose = async (name: string | null) => {
    if (!name || name === current) return;
    await api('PUT', '/session/account', { account: name });
    window.location.assign('/#/');
    window.location.reload();
  };
  return (
    <Select
      aria-label="Account"
      size="xs"
      w={180}
      data={accounts.map((account) => ({ value: account.name, label: account.status === 'suspended' ? `${account.name} (suspended)` : account.name }))}
      value={current}
      onChange={(value) => void choose(value)}
      allowDeselect={false}
      searchable
    />
  );
}
