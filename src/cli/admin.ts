import { AccountError, createAccount, listAccounts, requireAccount, setAccountStatus } from '../accounts/accounts.js';
import { reinstateAccount } from '../reputation/reputation.js';
import { setRateLimits } from '../sending/policy/accountPolicy.js';
import { createKey, listKeys, parseScopes, revokeKey } from '../accounts/apiKeys.js';
import { addDomain, dkimRecord, listDomains } from '../domains/domains.js';
import { allowIpCommand, disallowIpCommand, listIpCommand } from './ipAllowances.js';
import { UsageError, type AdminHandler } from './adminContext.js';
import { auditOperatorCommand } from './audit.js';

/** A limit option: a count (0 = no limit), "default" (-1: back to the installation's), or absent (null: unchanged). */
function limitOption(value: string | undefined, flag: string): number | null {
  if (value === undefined) return null;
  if (value === 'default') return -1;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 2_000_000_000) throw new UsageError(`${flag} takes a count of messages, 0 for no limit, or "default"`);
  return Number(value);
}

function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
}

const accounts: AdminHandler = async (args, options, { db, config, secrets, out, user }) => {
  const [action, name, range] = args;
  switch (action) {
    case 'list':
    case undefined: {
      const listed = await listAccounts(db);
      out.result(listed.map((account) => ({ name: account.name, status: account.status, hipaa: account.hipaa, activeKeys: Number(account.active_keys), createdAt: account.created_at })));
      for (const account of listed) {
        out.out(`${account.name}\t${account.status}${account.hipaa ? '\thipaa' : ''}\t${account.active_keys} key(s)\tcreated ${account.created_at.toISOString()}`);
      }
      break;
    }
    case 'create':
      await createAccount(db, secrets, need(name, 'account name'), { hipaa: options.hipaa === true });
      await auditOperatorCommand(db, config, user, name!, 'accounts create --hipaa', name!);
      out.result({ name, hipaa: options.hipaa === true });
      out.out(`${options.hipaa ? 'HIPAA account' : 'account'} ${name} created; add a key with: mailroom keys create --account ${name}${options.hipaa ? ' (it is served only on the HIPAA listeners, MAILROOM_HIPAA_HTTP_PORT and MAILROOM_HIPAA_SMTP_PORT)' : ''}`);
      break;
    case 'suspend':
      await setAccountStatus(db, need(name, 'account name'), 'suspended');
      await auditOperatorCommand(db, config, user, name!, 'accounts suspend', name!);
      out.out(`account ${name} suspended`);
      break;
    case 'reinstate': {
      if (!(await reinstateAccount(db, need(name, 'account name'), new Date(), 'installation operator (CLI)'))) throw new AccountError(`no account named "${name}"`);
      await auditOperatorCommand(db, config, user, name!, 'accounts reinstate', name!);
      out.out(`account ${name} reinstated; its bounce and complaint rates start over from the next full hour`);
      break;
    }
    case 'limits': {
      const row = await setRateLimits(db, need(name, 'account name'), limitOption(options['per-second'], '--per-second'), limitOption(options['per-day'], '--per-day'));
      if (!row) throw new AccountError(`no account named "${name}"`);
      await auditOperatorCommand(db, config, user, name!, `accounts limits${options['per-second'] ? ` --per-second ${options['per-second']}` : ''}${options['per-day'] ? ` --per-day ${options['per-day']}` : ''}`, name!);
      const shown = (value: number | null) => (value === null ? 'installation default' : value === 0 ? 'no limit' : String(value));
      out.out(`account ${name}: ${shown(row.rate_per_second)} per second, ${shown(row.rate_per_day)} per day`);
      break;
    }
    case 'allow-ip':
      await allowIpCommand(db, out, config, need(name, 'account name'), need(range, 'address range'));
      break;
    case 'disallow-ip':
      await disallowIpCommand(db, out, config, need(name, 'account name'), need(range, 'address range'));
      break;
    case 'list-ip':
      await listIpCommand(db, out, need(name, 'account name'));
      break;
    default:
      throw new UsageError(`unknown action "accounts ${action}" (list, create, suspend, reinstate, limits, allow-ip, disallow-ip, list-ip)`);
  }
  return 0;
};

const keys: AdminHandler = async (args, options, { db, config, out, user }) => {
  const [action, id] = args;
  const account = need(options.account, '--account NAME');
  switch (action) {
    case 'create': {
      const scopes = options.scopes === undefined ? null : parseScopes(options.scopes);
      const created = await createKey(db, { accountName: account, operatorName: options.operator, name: options.name, scopes });
      await auditOperatorCommand(db, config, user, account, 'keys create', `key:${created.id}`);
      out.result({ id: created.id, account, key: created.key, scopes: created.scopes });
      const scope = created.scopes ? `, scopes ${created.scopes.join(',')}` : '';
      out.out(`key ${created.id} for account ${account}${scope} (shown once, store it now):\n${created.key}`);
      break;
    }
    case 'list':
    case undefined: {
      const listed = await listKeys(db, account);
      out.result(listed.map(({ id, prefix, operator, scopes, name, revokedAt }) => ({ id, prefix, operator, scopes, name, revokedAt })));
      for (const key of listed) {
        out.out(`${key.id}\t${key.prefix}…\t${key.operator}\t${key.scopes?.join(',') ?? 'all scopes'}\t${key.name}\t${key.revokedAt ? `revoked ${key.revokedAt}` : 'active'}`);
      }
      break;
    }
    case 'revoke':
      if (!(await revokeKey(db, account, Number(need(id, 'key id'))))) throw new UsageError(`no active key ${id} in account ${account}`);
      await auditOperatorCommand(db, config, user, account, 'keys revoke', `key:${id}`);
      out.out(`key ${id} revoked`);
      break;
    default:
      throw new UsageError(`unknown action "keys ${action}" (create, list, revoke)`);
  }
  return 0;
};

const domains: AdminHandler = async (args, options, { db, secrets, out }) => {
  const [action, name] = args;
  const account = await requireAccount(db, need(options.account, '--account NAME'));
  switch (action) {
    case 'add': {
      const domain = await addDomain(db, secrets, account.id, need(name, 'domain'), { verified: options.verified ?? false, ed25519: options.ed25519 ?? false });
      out.result({ domain: domain.domain, verified: domain.verified, dkimSelector: domain.dkim_selector, dkimRecord: dkimRecord(domain.dkim_public_key) });
      out.out(`domain ${domain.domain} added to ${account.name}${domain.verified ? ' (verified)' : ''}`);
      out.out(`publish DKIM: ${domain.dkim_selector}._domainkey.${domain.domain} TXT "${dkimRecord(domain.dkim_public_key)}"`);
      if (domain.dkim_ed25519_selector && domain.dkim_ed25519_public_key) {
        out.out(`publish DKIM: ${domain.dkim_ed25519_selector}._domainkey.${domain.domain} TXT "${dkimRecord(domain.dkim_ed25519_public_key, 'ed25519')}"`);
      }
      break;
    }
    case 'list':
    case undefined: {
      const listed = await listDomains(db, account.id);
      out.result(listed.map((domain) => ({ domain: domain.domain, status: domain.status, verification: domain.verification, dkimSelector: domain.dkim_selector })));
      for (const domain of listed) {
        out.out(`${domain.domain}\t${domain.status}${domain.verification === 'admin' ? ' (by an admin)' : ''}\tselector ${domain.dkim_selector}`);
      }
      break;
    }
    default:
      throw new UsageError(`unknown action "domains ${action}" (add, list)`);
  }
  return 0;
};

export const adminCommands: Record<string, AdminHandler> = { accounts, keys, domains };
