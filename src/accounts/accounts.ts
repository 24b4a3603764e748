import type { Sealer } from '../crypto/sealed.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { callbackSecretContext } from '../secrets/contexts.js';
import { newSigningSecret } from '../webhooks/signing.js';

const sql = sqlFile(new URL('./accounts.sql', import.meta.url), [
  'newAccountId', 'insertAccount', 'accountByName', 'listAccounts', 'setAccountStatus', 'insertOperator', 'accountById', 'setTrackingDefaults',
] as const);

export interface Account {
  id: number;
  name: string;
  status: 'active' | 'suspended';
  /** Served only on the HIPAA listeners (docs/HIPAA.md). */
  hipaa: boolean;
  created_at: Date;
}

export const DEFAULT_ACCOUNT = 'default';
export const DEFAULT_OPERATOR = 'default';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class AccountError extends Error {}

export function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) throw new AccountError(`${kind} name must be 1-64 letters, digits, ".", "_" or "-": "${name}"`);
}

/** A new account, with its callback secret sealed (`secrets`). */
export async function createAccount(db: Queryable, secrets: Sealer, name: string, options: { hipaa?: boolean } = {}): Promise<Account> {
  checkName('account', name);
  if (await findAccount(db, name)) throw new AccountError(`account "${name}" already exists`);
  const [reserved] = await db.query<{ id: number }>(sql.newAccountId);
  const id = Number(reserved!.id);
  const secret = secrets.seal(newSigningSecret(), callbackSecretContext(id));
  const [account] = await db.query<Account & Record<string, unknown>>(sql.insertAccount, [id, name, secret, options.hipaa ?? false]);
  return account!;
}

export async function findAccount(db: Queryable, name: string): Promise<Account | undefined> {
  const [row] = await db.query<Account & Record<string, unknown>>(sql.accountByName, [name]);
  return row;
}

export async function requireAccount(db: Queryable, name: string): Promise<Account> {
  const account = await findAccount(db, name);
  if (!account) throw new AccountError(`no account named "${name}"`);
  return account;
}

export async function listAccounts(db: Queryable): Promise<(Account & { active_keys: number })[]> {
  return db.query<Account & { active_keys: number } & Record<string, unknown>>(sql.listAccounts);
}

export async function setAccountStatus(db: Queryable, name: string, status: Account['status']): Promise<void> {
  const rows = await db.query(sql.setAccountStatus, [name, status]);
  if (rows.length === 0) throw new AccountError(`no account named "${name}"`);
}

export async function ensureOperator(db: Queryable, accountId: number, name: string): Promise<{ id: number; name: string }> {
  checkName('operator', name);
  const [row] = await db.query<{ id: number; name: string }>(sql.insertOperator, [accountId, name]);
  return row!;
}

/** The account as its own operators see it, with the secret that signs its messages' callbacks. */
export interface AccountView {
  name: string;
  status: Account['status'];
  /** Served only on the HIPAA listeners (docs/HIPAA.md); set when the account is created. */
  hipaa: boolean;
  callbackSecret: string;
  /** Defaults for messages that do not set trackOpens / trackClicks. */
  trackOpens: boolean;
  trackClicks: boolean;
  createdAt: string;
}

export async function accountView(db: Queryable, secrets: Sealer, id: number): Promise<AccountView | null> {
  const [row] = await db.query<Account & { callback_secret: string; track_opens: boolean; track_clicks: boolean } & Record<string, unknown>>(sql.accountById, [id]);
  if (!row) return null;
  const callbackSecret = secrets.open(row.callback_secret, callbackSecretContext(row.id));
  return { name: row.name, status: row.status, hipaa: row.hipaa, callbackSecret, trackOpens: row.track_opens, trackClicks: row.track_clicks, createdAt: new Date(row.created_at).toISOString() };
}

export async function setTrackingDefaults(db: Queryable, id: number, defaults: { trackOpens?: boolean; trackClicks?: boolean }): Promise<void> {
  await db.query(sql.setTrackingDefaults, [id, defaults.trackOpens ?? null, defaults.trackClicks ?? null]);
}
