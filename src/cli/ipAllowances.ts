import { allowIpRange, disallowIpRange, listIpRanges } from '../accounts/ipAllowances.js';
import type { Config } from '../config/settings.js';
import type { Database } from '../db/database.js';

type ModeConfig = Pick<Config, 'ipCredentials'>;

/** `mailroom accounts allow-ip NAME RANGE` */
export async function allowIpCommand(db: Database, config: ModeConfig, account: string, range: string): Promise<void> {
  const allowed = await allowIpRange(db, account, range);
  console.log(`account ${account} ${allowed.added ? 'may now add' : 'already could add'} IP credentials inside ${allowed.range}`);
  if (config.ipCredentials !== 'admin') {
    console.log('(MAILROOM_IP_CREDENTIALS is "open": allowances restrict accounts only with "admin"; this one keeps other accounts out of the range meanwhile)');
  }
}

/** `mailroom accounts disallow-ip NAME RANGE`: in admin mode the credentials only it covered go with it. */
export async function disallowIpCommand(db: Database, config: ModeConfig, account: string, range: string): Promise<void> {
  const removed = await disallowIpRange(db, account, range, config.ipCredentials === 'admin');
  console.log(`account ${account} no longer has the allowance ${removed.range}`);
  for (const credential of removed.revoked) {
    console.log(`revoked IP credential ${credential.id} (${credential.address}): no allowance of the account covers it any more`);
  }
}

/** `mailroom accounts list-ip NAME`: its allowances, then its live IP credentials. */
export async function listIpCommand(db: Database, account: string): Promise<void> {
  const listing = await listIpRanges(db, account);
  for (const allowance of listing.allowances) console.log(`allowance\t${allowance.range}\tcreated ${allowance.createdAt.toISOString()}`);
  for (const credential of listing.credentials) {
    console.log(`credential\t${credential.id}\t${credential.address}\t${credential.name}\t${credential.allowed ? 'inside an allowance' : 'outside every allowance'}`);
  }
}
