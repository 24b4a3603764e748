import type { Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../shared/log.js';
import { createAccount, findAccount, DEFAULT_ACCOUNT } from './accounts.js';
import { createKey, keyExists } from './apiKeys.js';

/**
 * First start: create the `default` account. Its first key is MAILROOM_BOOTSTRAP_API_KEY when
 * set (added on any start where it is not known yet), otherwise a generated key printed once.
 */
export async function bootstrapAccounts(db: Database, secrets: Sealer, bootstrapKey: string, log: Logger): Promise<string | null> {
  let account = await findAccount(db, DEFAULT_ACCOUNT);
  const firstStart = !account;
  if (!account) account = await createAccount(db, secrets, DEFAULT_ACCOUNT);
  if (bootstrapKey) {
    if (bootstrapKey.length < 16) log.warn('MAILROOM_BOOTSTRAP_API_KEY is shorter than 16 characters: easy to guess');
    if (!(await keyExists(db, bootstrapKey))) {
      await createKey(db, { accountName: account.name, name: 'bootstrap', key: bootstrapKey });
      log.info({ account: account.name }, 'bootstrap API key registered');
    }
    return null;
  }
  if (!firstStart) return null;
  const created = await createKey(db, { accountName: account.name, name: 'bootstrap' });
  return created.key;
}
