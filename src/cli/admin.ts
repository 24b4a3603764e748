import { AccountError, createAccount, listAccounts, requireAccount, setAccountStatus } from '../accounts/accounts.js';
import { reinstateAccount } from '../reputation/reputation.js';
import { setRateLimits } from '../sending/policy/accountPolicy.js';
import { createKey, listKeys, parseScopes, revokeKey } from '../accounts/apiKeys.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/settings.js';
import { loadKeyRing } from '../config/secrets.js';
import { Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { addDomain, dkimRecord, listDomains } from '../domains/domains.js';
import { allowIpCommand, disallowIpCommand, listIpCommand } from './ipAllowances.js';
import type { CliOptions } from './main.js';
import { auditOperatorCommand } from './audit.js';

type Admin = (args: string[], options: CliOptions) => Promise<number>;

class UsageError extends Error {}

async function withDatabase(options: CliOptions, fn: (db: Database, config: Config, secrets: Sealer) => Promise<void>): Promise<number> {
  const config = loadConfig({ configFile: options.config });
  const db = await openDatabase(config);
  try {
    await migrate(db);
    await fn(db, config, new Sealer(loadKeyRing(config)));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`mailroom: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    await db.close();
  }
}

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

const accounts: Admin = (args, options) =>
  withDatabase(options, async (db, config, secrets) => {
    const [action, name, range] = args;
    switch (action) {
      case 'list':
      case undefined:
        for (const account of await listAccounts(db)) {
          console.log(`${account.name}\t${account.status}${account.hipaa ? '\thipaa' : ''}\t${account.active_keys} key(s)\tcreated ${account.created_at.toISOString()}`);
        }
        return;
      case 'create':
        await createAccount(db, secrets, need(name, 'account name'), { hipaa: options.hipaa === true });
        await auditOperatorCommand(db, config, name!, 'accounts create --hipaa', name!);
        console.log(`${options.hipaa ? 'HIPAA account' : 'account'} ${name} created; add a key with: mailroom keys create --account ${name}${options.hipaa ? ' (it is served only on the HIPAA listeners, MAILROOM_HIPAA_HTTP_PORT and MAILROOM_HIPAA_SMTP_PORT)' : ''}`);
        return;
      case 'suspend':
        await setAccountStatus(db, need(name, 'account name'), 'suspended');
        await auditOperatorCommand(db, config, name!, 'accounts suspend', name!);
        console.log(`account ${name} suspended`);
        return;
      case 'reinstate': {
        if (!(await reinstateAccount(db, need(name, 'account name'), new Date(), 'installation operator (CLI)'))) throw new AccountError(`no account named "${name}"`);
        await auditOperatorCommand(db, config, name!, 'accounts reinstate', name!);
        console.log(`account ${name} reinstated; its bounce and complaint rates start over from the next full hour`);
        return;
      }
      case 'limits': {
        const row = await setRateLimits(db, need(name, 'account name'), limitOption(options['per-second'], '--per-second'), limitOption(options['per-day'], '--per-day'));
        if (!row) throw new AccountError(`no account named "${name}"`);
        await auditOperatorCommand(db, config, name!, `accounts limits${options['per-second'] ? ` --per-second ${options['per-second']}` : ''}${options['per-day'] ? ` --per-day ${options['per-day']}` : ''}`, name!);
        const shown = (value: number | null) => (value === null ? 'installation default' : value === 0 ? 'no limit' : String(value));
        console.log(`account ${name}: ${shown(row.rate_per_second)} per second, ${shown(row.rate_per_day)} per day`);
        return;
      }
      case 'allow-ip':
        return allowIpCommand(db, config, need(name, 'account name'), need(range, 'address range'));
      case 'disallow-ip':
        return disallowIpCommand(db, config, need(name, 'account name'), need(range, 'address range'));
      case 'list-ip':
        return listIpCommand(db, need(name, 'account name'));
      default:
        throw new UsageError(`unknown action "accounts ${action}" (list, create, suspend, reinstate, limits, allow-ip, disallow-ip, list-ip)`);
    }
  });

const keys: Admin = (args, options) =>
  withDatabase(options, async (db, config) => {
    const [action, id] = args;
    const account = need(options.account, '--account NAME');
    switch (action) {
      case 'create': {
        const scopes = options.scopes === undefined ? null : parseScopes(options.scopes);
        const created = await createKey(db, { accountName: account, operatorName: options.operator, name: options.name, scopes });
        await auditOperatorCommand(db, config, account, 'keys create', `key:${created.id}`);
        const scope = created.scopes ? `, scopes ${created.scopes.join(',')}` : '';
        console.log(`key ${created.id} for account ${account}${scope} (shown once, store it now):\n${created.key}`);
        return;
      }
      case 'list':
      case undefined:
        for (const key of await listKeys(db, account)) {
          console.log(`${key.id}\t${key.prefix}…\t${key.operator}\t${key.scopes?.join(',') ?? 'all scopes'}\t${key.name}\t${key.revokedAt ? `revoked ${key.revokedAt}` : 'active'}`);
        }
        return;
      case 'revoke':
        if (!(await revokeKey(db, account, Number(need(id, 'key id'))))) throw new UsageError(`no active key ${id} in account ${account}`);
        await auditOperatorCommand(db, config, account, 'keys revoke', `key:${id}`);
        console.log(`key ${id} revoked`);
        return;
      default:
        throw new UsageError(`unknown action "keys ${action}" (create, list, revoke)`);
    }
  });

const domains: Admin = (args, options) =>
  withDatabase(options, async (db, _config, secrets) => {
    const [action, name] = args;
    const account = await requireAccount(db, need(options.account, '--account NAME'));
    switch (action) {
      case 'add': {
        const domain = await addDomain(db, secrets, account.id, need(name, 'domain'), { verified: options.verified ?? false, ed25519: options.ed25519 ?? false });
        console.log(`domain ${domain.domain} added to ${account.name}${domain.verified ? ' (verified)' : ''}`);
        console.log(`publish DKIM: ${domain.dkim_selector}._domainkey.${domain.domain} TXT "${dkimRecord(domain.dkim_public_key)}"`);
        if (domain.dkim_ed25519_selector && domain.dkim_ed25519_public_key) {
          console.log(`publish DKIM: ${domain.dkim_ed25519_selector}._domainkey.${domain.domain} TXT "${dkimRecord(domain.dkim_ed25519_public_key, 'ed25519')}"`);
        }
        return;
      }
      case 'list':
      case undefined:
        for (const domain of await listDomains(db, account.id)) {
          console.log(`${domain.domain}\t${domain.status}${domain.verification === 'admin' ? ' (by an admin)' : ''}\tselector ${domain.dkim_selector}`);
        }
        return;
      default:
        throw new UsageError(`unknown action "domains ${action}" (add, list)`);
    }
  });

export const adminCommands: Record<string, Admin> = { accounts, keys, domains };
