import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { hashPassword, UNMATCHABLE_HASH, verifyPassword } from '../crypto/passwords.js';
import { AccountError, ensureOperator, requireAccount } from './accounts.js';

const sql = sqlFile(new URL('./operators.sql', import.meta.url), ['setPassword', 'setRole', 'signInCandidate', 'failedSignIn', 'goodSignIn', 'listOperators'] as const);

export type OperatorRole = 'operator' | 'admin';

/** NIST SP 800-63B: at least 8 characters, and allow long passphrases; 12 here, since the console can send mail for the whole account. */
export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;
/** Failures in a row before an operator is locked out, and for how long. */
export const SIGN_IN_FAILURES = 5;
export const LOCK_OUT_MS = 15 * 60_000;

export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return null;
}

/** Creates the operator if needed and sets its password (and role); its sessions are revoked. */
export async function setOperatorPassword(db: Queryable, accountName: string, operatorName: string, password: string, role: OperatorRole | null = null): Promise<{ id: number; name: string; role: OperatorRole }> {
  const problem = passwordProblem(password);
  if (problem) throw new AccountError(`the password ${problem}`);
  const account = await requireAccount(db, accountName);
  await ensureOperator(db, account.id, operatorName);
  const [row] = await db.query<{ id: number | string; name: string; role: OperatorRole }>(sql.setPassword, [account.id, operatorName, await hashPassword(password), role]);
  return { id: Number(row!.id), name: row!.name, role: row!.role };
}

export async function setOperatorRole(db: Queryable, accountName: string, operatorName: string, role: OperatorRole): Promise<void> {
  const account = await requireAccount(db, accountName);
  await db.query(sql.setRole, [account.id, operatorName, role]);
}

export interface OperatorInfo {
  name: string;
  role: OperatorRole;
  canSignIn: boolean;
  lockedUntil: string | null;
  createdAt: string;
}

export async function listOperators(db: Queryable, accountName: string): Promise<OperatorInfo[]> {
  const account = await requireAccount(db, accountName);
  const rows = await db.query<{ name: string; role: OperatorRole; can_sign_in: boolean; locked_until: Date | string | null; created_at: Date | string }>(sql.listOperators, [account.id]);
  return rows.map((row) => ({
    name: row.name, role: row.role, canSignIn: row.can_sign_in,
    lockedUntil: row.locked_until === null ? null : new Date(row.locked_until).toISOString(), createdAt: new Date(row.created_at).toISOString(),
  }));
}

export interface SignedInOperator {
  operatorId: number;
  operatorName: string;
  role: OperatorRole;
  accountId: number;
  accountName: string;
  accountHipaa: boolean;
}

export type SignInResult =
  | { outcome: 'ok'; operator: SignedInOperator }
  | { outcome: 'invalid' }
  | { outcome: 'locked'; until: Date };

interface CandidateRow extends Record<string, unknown> {
  id: number | string;
  name: string;
  role: OperatorRole;
  password_hash: string | null;
  failed_logins: number;
  locked_until: Date | string | null;
  account_id: number | string;
  account_name: string;
  account_hipaa: boolean;
}

/**
 * Checks a sign-in. An unknown account or operator, one without a password and a wrong password
 * all answer `invalid`, after the same scrypt work, so that the answer and its time do not tell
 * which names exist. SIGN_IN_FAILURES wrong passwords in a row lock the operator out for
 * LOCK_OUT_MS; while locked, even the right password is refused.
 */
export async function checkSignIn(db: Queryable, accountName: string, operatorName: string, password: string, now: Date): Promise<SignInResult> {
  const [row] = await db.query<CandidateRow>(sql.signInCandidate, [accountName, operatorName]);
  const matches = await verifyPassword(password, row?.password_hash ?? UNMATCHABLE_HASH);
  if (!row || row.password_hash === null) return { outcome: 'invalid' };
  if (row.locked_until !== null && new Date(row.locked_until) > now) return { outcome: 'locked', until: new Date(row.locked_until) };
  if (!matches) {
    const [failed] = await db.query<{ locked_until: Date | string | null }>(sql.failedSignIn, [row.id, SIGN_IN_FAILURES, new Date(now.getTime() + LOCK_OUT_MS).toISOString()]);
    const until = failed?.locked_until ? new Date(failed.locked_until) : null;
    return until && until > now ? { outcome: 'locked', until } : { outcome: 'invalid' };
  }
  await db.query(sql.goodSignIn, [row.id]);
  return {
    outcome: 'ok',
    operator: { operatorId: Number(row.id), operatorName: row.name, role: row.role, accountId: Number(row.account_id), accountName: row.account_name, accountHipaa: row.account_hipaa },
  };
}
