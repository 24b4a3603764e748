import { allowIpRange, disallowIpRange, listIpRanges } from '../accounts/ipAllowances.js';
import type { Config } from '../config/settings.js';
import type { Database } from '../db/database.js';
import type { CliOutput } from './output.js';

type ModeConfig = Pick<Config, 'ipCredentials'>;

/** `mailroom accounts allow-ip NAME RANGE` */
export async function allowIpCommand(db: Database, out: CliOutput, config: ModeConfig, account: string, range: string): Promise<void> {
  const allowed = await allowIpRange(db, account, range);
  out.out(`account ${account} ${allowed.added ? 'may now add' : 'already could add'} IP credentials inside ${allowed.range}`);
  if (config.ipCredentials !== 'admin') {
    out.out('(MAILROOM_IP_CREDENTIALS is "open": allowances restrict accounts only with "admin"; this one keeps other accounts out of the range meanwhile)');
  }
}

/** `mailroom accounts disallow-ip NAME RANGE`: in admin mode the credentials only it covered go with it. */
export async function disallowIpCommand(db: Database, out: CliOutput, config: ModeConfig, account: string, range: string): Promise<void> {
  const removed = await disallowIpRange(db, account, range, config.ipCredentials === 'admin');
  out.out(`account ${account} no longer has the allowance ${removed.range}`);
  for (const credential of removed.revoked) {
    out.out(`revoked IP credential ${credential.id} (${credential.address}): no allowance of the account covers it any more`);
  }
}

/** `mailroom accounts list-ip NAME`: its allowances, then its live IP credentials. */
export async function listIpCommand(db: Database, out: CliOutput, account: string): Promise<void> {
  const listing = await listIpRanges(db, account);
  for (const allowance of listing.allowances) out.out(`allowance\t${allowance.range}\tcreated ${allowance.createdAt.toISOString()}`);
  for (const credential of listing.credentials) {
    out.out(`credential\t${credential.id}\t${credential.address}\t${credential.name}\t${credential.allowed ? 'inside an allowance' : 'outside every allowance'}`);
  }
}
