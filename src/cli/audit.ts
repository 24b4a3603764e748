import { userInfo } from 'node:os';
import { findAccount } from '../accounts/accounts.js';
import { AuditLog, verifyAudit } from '../audit/audit.js';
import { AuditChain } from '../audit/chain.js';
import type { Config } from '../config/settings.js';
import { loadKeyRing } from '../config/secrets.js';
import type { Database } from '../db/database.js';
import { systemClock } from '../shared/clock.js';
import { UsageError, type AdminHandler } from './adminContext.js';

/**
 * An operator command that touched a HIPAA account goes on its audit log (docs/HIPAA.md): the
 * command, the operating-system user who ran it, what it named. Other accounts are not audited.
 */
export async function auditOperatorCommand(db: Database, config: Config, user: string, accountName: string, action: string, target: string | null = null): Promise<void> {
  const account = await findAccount(db, accountName);
  if (!account?.hipaa) return;
  const audit = new AuditLog(db, new AuditChain(loadKeyRing(config)), systemClock);
  await audit.record({
    accountId: Number(account.id), actor: 'cli', operator: user, action: `cli ${action}`, target, remoteAddress: null, outcome: 'ok', status: null,
  });
  await audit.drain();
}

/** The operating-system user running this process. */
export function operatingUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** `mailroom audit verify [--account NAME]`: walks the chains; exit 1 and each break named when one is broken. */
export const auditCommand: AdminHandler = async (args, options, { db, config, out }) => {
  const [action] = args;
  if (action !== 'verify') throw new UsageError('usage: mailroom audit verify [--account NAME]');
  let accountId: number | null = null;
  if (options.account) {
    const account = await findAccount(db, options.account);
    if (!account) throw new UsageError(`no account named "${options.account}"`);
    accountId = Number(account.id);
  }
  const chain = new AuditChain(loadKeyRing(config));
  // Entries written beside their actions and not yet chained (a server stopped before it
  // chained them) are chained first, so that the walk covers every recorded action.
  await new AuditLog(db, chain, systemClock).chainPending();
  const result = await verifyAudit(db, chain, accountId);
  for (const problem of result.problems) out.out(`account ${problem.accountId}, entry ${problem.seq}: ${problem.problem}`);
  out.out(result.problems.length === 0
    ? `audit log intact: ${result.entries} entries in ${result.accounts} chain(s)`
    : `audit log BROKEN: ${result.problems.length} problem(s) in ${result.entries} entries of ${result.accounts} chain(s)`);
  return result.problems.length === 0 ? 0 : 1;
};
