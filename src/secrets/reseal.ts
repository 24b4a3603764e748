import { isSealed, SEALED_PREFIX, SealedValueError, type Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { Logger } from '../shared/log.js';
import { SECRET_KINDS, secretContext, type SecretKind } from './contexts.js';

const sql = sqlFile(new URL('./secrets.sql', import.meta.url), [
  'callbackSecrets', 'replaceCallbackSecrets', 'webhookSecrets', 'replaceWebhookSecrets', 'previousWebhookSecrets', 'replacePreviousWebhookSecrets',
  'dkimKeys', 'replaceDkimKeys', 'dkimEd25519Keys', 'replaceDkimEd25519Keys', 'nextDkimKeys', 'replaceNextDkimKeys', 'anySealed',
  'hipaaIndexKeys', 'replaceHipaaIndexKeys', 'messageDataKeys', 'replaceMessageDataKeys',
] as const);

interface SealedColumn {
  /** table.column, as logs and errors name it. */
  name: string;
  kind: SecretKind;
  list: string;
  replace: string;
}

const COLUMNS: readonly SealedColumn[] = [
  { name: 'accounts.callback_secret', kind: 'callback-secret', list: sql.callbackSecrets, replace: sql.replaceCallbackSecrets },
  { name: 'webhooks.secret', kind: 'webhook-secret', list: sql.webhookSecrets, replace: sql.replaceWebhookSecrets },
  { name: 'webhooks.previous_secret', kind: 'webhook-secret', list: sql.previousWebhookSecrets, replace: sql.replacePreviousWebhookSecrets },
  { name: 'domains.dkim_private_key', kind: 'dkim-private-key', list: sql.dkimKeys, replace: sql.replaceDkimKeys },
  { name: 'domains.dkim_ed25519_private_key', kind: 'dkim-private-key', list: sql.dkimEd25519Keys, replace: sql.replaceDkimEd25519Keys },
  { name: 'domain_dkim_keys.private_key', kind: 'dkim-private-key', list: sql.nextDkimKeys, replace: sql.replaceNextDkimKeys },
  { name: 'accounts.hipaa_index_key', kind: 'hipaa-index-key', list: sql.hipaaIndexKeys, replace: sql.replaceHipaaIndexKeys },
  { name: 'message_keys.wrapped', kind: 'message-data-key', list: sql.messageDataKeys, replace: sql.replaceMessageDataKeys },
];

/** Any constant: one page of one sweep at a time across the processes on one PostgreSQL. */
const RESEAL_LOCK = 0x7365616c;
const PAGE = 500;

export interface ResealReport {
  /** Per kind: values found in clear and sealed, values re-encrypted under the current key. */
  counts: Record<SecretKind, { sealed: number; reencrypted: number }>;
  /** Values that did not open (an unknown key id, an altered value): where, and why; never the value. */
  failures: { column: string; id: number; message: string }[];
}

/** Start-up, after the migrations: seals every secret still stored in clear (written by a version before 011). */
export function sealClearSecrets(db: Database, sealer: Sealer): Promise<ResealReport> {
  return reseal(db, sealer, SEALED_PREFIX);
}

/** `mailroom secrets rotate`: every secret not sealed with the current key is sealed with it (clear ones too). */
export function rotateSecrets(db: Database, sealer: Sealer): Promise<ResealReport> {
  return reseal(db, sealer, sealer.currentPrefix);
}

/**
 * The start-up sweep, logged. The first one (nothing sealed yet) seals what earlier versions
 * stored. A clear value found later was written by an older version still running beside this
 * one, or straight into the database: it is sealed like the others (readers refuse clear values,
 * so it would otherwise stop working), with a warning naming its kind, so that an operator
 * can tell a late writer from a planted value.
 */
export async function sealSecretsAtStart(db: Database, sealer: Sealer, log: Logger): Promise<void> {
  const [before] = await db.query<{ sealed: boolean }>(sql.anySealed);
  const report = await sealClearSecrets(db, sealer);
  const sealed = Object.fromEntries(SECRET_KINDS.map((kind) => [kind, report.counts[kind].sealed]).filter(([, n]) => Number(n) > 0));
  if (Object.keys(sealed).length === 0) return;
  if (!before?.sealed) log.info({ sealed, keyId: sealer.ring.current.id }, 'secrets stored in clear by an earlier version are now sealed');
  else log.warn({ sealed, keyId: sealer.ring.current.id }, 'secrets found in clear (written by an older version, or into the database directly) were sealed');
}

async function reseal(db: Database, sealer: Sealer, done: string): Promise<ResealReport> {
  const report: ResealReport = {
    counts: Object.fromEntries(SECRET_KINDS.map((kind) => [kind, { sealed: 0, reencrypted: 0 }])) as ResealReport['counts'],
    failures: [],
  };
  for (const column of COLUMNS) {
    let after = 0;
    for (;;) {
      const read = await db.transaction((tx) => resealPage(tx, sealer, column, done, after, report));
      if (read.length < PAGE) break;
      after = read.at(-1)!;
    }
  }
  return report;
}

/** One page of one column, under the sweep lock; returns the ids read. */
async function resealPage(tx: Pick<Database, 'query'>, sealer: Sealer, column: SealedColumn, done: string, after: number, report: ResealReport): Promise<number[]> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [RESEAL_LOCK]);
  const rows = await tx.query<{ id: number; account_id: number; value: string }>(column.list, [done, after, PAGE]);
  const changes: { id: number; was: string; sealed: string }[] = [];
  for (const row of rows) {
    const context = secretContext(column.kind, row.account_id);
    try {
      const plaintext = isSealed(row.value) ? sealer.openBytes(row.value, context) : Buffer.from(row.value, 'utf8');
      changes.push({ id: Number(row.id), was: row.value, sealed: sealer.seal(plaintext, context) });
    } catch (error) {
      if (!(error instanceof SealedValueError)) throw error;
      report.failures.push({ column: column.name, id: Number(row.id), message: error.message });
    }
  }
  if (changes.length > 0) {
    const replaced = new Set((await tx.query<{ id: number }>(column.replace, [JSON.stringify(changes)])).map((row) => Number(row.id)));
    for (const change of changes) {
      if (!replaced.has(change.id)) continue;
      const counts = report.counts[column.kind];
      if (isSealed(change.was)) counts.reencrypted++;
      else counts.sealed++;
    }
  }
  return rows.map((row) => Number(row.id));
}
