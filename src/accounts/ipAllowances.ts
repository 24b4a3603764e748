import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { AccountError, requireAccount } from './accounts.js';
import { lockIpSpace } from './ipCredentials.js';
import { parseRange, type IpRange } from './ipRanges.js';

/**
 * Allowances: the address ranges an installation admin gave an account for its SMTP IP
 * credentials (with MAILROOM_IP_CREDENTIALS=admin it may add them only inside these). Managed
 * from the command line, by whoever runs the installation, so the errors name other accounts.
 */
const sql = sqlFile(new URL('./ipAllowances.sql', import.meta.url), [
  'allowanceConflicts', 'insertAllowance', 'deleteAllowance', 'revokeUncovered', 'listAllowances', 'listIpCredentials',
] as const);

function rangeOf(input: string): IpRange {
  const range = parseRange(input);
  if (!range) throw new AccountError(`"${input}" is not an IPv4 or IPv6 address or CIDR range`);
  if (range.bits === 0) throw new AccountError(`${range.text} is every address; allow a narrower range`);
  return range;
}

interface ConflictRow {
  kind: 'allowance' | 'credential';
  id: number | null;
  range: string;
  account: string;
}

/** Allows the range to the account, unless another account holds any of it. False: it already had it. */
export async function allowIpRange(db: Database, accountName: string, input: string): Promise<{ range: string; added: boolean }> {
  const range = rangeOf(input);
  return db.transaction(async (tx) => {
    await lockIpSpace(tx);
    const account = await requireAccount(tx, accountName);
    const conflicts = await tx.query<ConflictRow & Record<string, unknown>>(sql.allowanceConflicts, [account.id, range.text]);
    if (conflicts.length > 0) {
      const named = conflicts.map((row) => (row.kind === 'allowance' ? `allowance ${row.range} of account "${row.account}"` : `IP credential ${row.id} (${row.range}) of account "${row.account}"`));
      throw new AccountError(`${range.text} overlaps ${named.join(', ')}; an address belongs to one account only`);
    }
    const inserted = await tx.query(sql.insertAllowance, [account.id, range.text]);
    return { range: range.text, added: inserted.length > 0 };
  });
}

/**
 * Removes an allowance. `revokeCredentials` (admin mode, where a credential exists only by its
 * allowance): also revokes the account's IP credentials inside it that no other allowance covers.
 */
export async function disallowIpRange(db: Database, accountName: string, input: string, revokeCredentials: boolean): Promise<{ range: string; revoked: { id: number; address: string }[] }> {
  const range = rangeOf(input);
  return db.transaction(async (tx) => {
    await lockIpSpace(tx);
    const account = await requireAccount(tx, accountName);
    if ((await tx.query(sql.deleteAllowance, [account.id, range.text])).length === 0) {
      throw new AccountError(`account "${account.name}" has no allowance ${range.text} (see mailroom accounts list-ip ${account.name})`);
    }
    const revoked = revokeCredentials ? await tx.query<{ id: number; address: string }>(sql.revokeUncovered, [account.id, range.text]) : [];
    return { range: range.text, revoked: revoked.map((row) => ({ id: Number(row.id), address: row.address })) };
  });
}

export interface IpRangeListing {
  allowances: { range: string; createdAt: Date }[];
  credentials: { id: number; address: string; name: string; allowed: boolean }[];
}

export async function listIpRanges(db: Queryable, accountName: string): Promise<IpRangeListing> {
  const account = await requireAccount(db, accountName);
  const allowances = await db.query<{ range: string; created_at: Date }>(sql.listAllowances, [account.id]);
  const credentials = await db.query<{ id: number; address: string; name: string; allowed: boolean }>(sql.listIpCredentials, [account.id]);
  return {
    allowances: allowances.map((row) => ({ range: row.range, createdAt: new Date(row.created_at) })),
    credentials: credentials.map((row) => ({ id: Number(row.id), address: row.address, name: row.name, allowed: row.allowed })),
  };
}
