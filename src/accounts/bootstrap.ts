import type { Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { Logger } from '../shared/log.js';
import { createAccount, findAccount, DEFAULT_ACCOUNT } from './accounts.js';
import { createKey, keyExists } from './apiKeys.js';

const sql = sqlFile(new URL('./accounts.sql', import.meta.url), ['accountHasHadKeys'] as const);

/**
 * Every start: the `default` account exists, and MAILROOM_BOOTSTRAP_API_KEY, when set, is one of
 * its keys (added on any start where it is not known yet).
 */
export async function bootstrapAccounts(db: Database, secrets: Sealer, bootstrapKey: string, log: Logger): Promise<void> {
  const account = (await findAccount(db, DEFAULT_ACCOUNT)) ?? (await createAccount(db, secrets, DEFAULT_ACCOUNT));
  if (!bootstrapKey) return;
  if (bootstrapKey.length < 16) log.warn('MAILROOM_BOOTSTRAP_API_KEY is shorter than 16 characters: easy to guess');
  if (!(await keyExists(db, bootstrapKey))) {
    await createKey(db, { accountName: account.name, name: 'bootstrap', key: bootstrapKey });
    log.info({ account: account.name }, 'bootstrap API key registered');
  }
}

/**
 * The generated first key, once the server is listening: made only when the `default` account has
 * never had a key (revoked ones count), so it is printed by the start that made it. Made at the
 * end of a successful start, not with the account: a first start that failed (a port taken, say)
 * made no key to lose, and the next start makes it and prints it.
 */
export async function issueFirstKey(db: Database): Promise<string | null> {
  const account = await findAccount(db, DEFAULT_ACCOUNT);
  if (!account) return null;
  if ((await db.query(sql.accountHasHadKeys, [account.id])).length > 0) return null;
  return (await createKey(db, { accountName: account.name, name: 'bootstrap' })).key;
}
