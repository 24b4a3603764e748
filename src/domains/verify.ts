import type { Database } from '../db/database.js';
import type { DomainChecker } from './checks.js';
import { getDomain, keysOfDomains, promotePendingKeys, storeCheck, type DkimKey, type Domain, type DomainStatus, type StoredCheck } from './domains.js';
import { domainView, expectedRecords, recordKey, type DomainView, type RecordCheck } from './records.js';
import type { DomainSettings } from './settings.js';

export interface VerifyOutcome {
  view: DomainView;
  previousStatus: DomainStatus;
  /** A rotation's next key was found published and signs from now on. */
  promoted: boolean;
}

async function load(db: Database, accountId: number | null, id: number, now: Date): Promise<{ domain: Domain; keys: DkimKey[] } | null> {
  const domain = await getDomain(db, accountId, id);
  if (!domain) return null;
  return { domain, keys: (await keysOfDomains(db, [Number(domain.id)], now)).get(Number(domain.id)) ?? [] };
}

/**
 * Looks every record of a domain up in DNS, ends a key rotation whose new records are published,
 * and stores the results with the domain's new status (writing DOMAIN_VERIFIED or
 * DOMAIN_VERIFICATION_FAILED on a transition). The DNS work happens outside any transaction.
 * `accountId` null: any account's domain (the re-check job). Null when there is no such domain.
 */
export async function verifyDomain(
  db: Database,
  checker: DomainChecker,
  settings: DomainSettings,
  accountId: number | null,
  id: number,
  now: Date,
): Promise<VerifyOutcome | null> {
  let loaded = await load(db, accountId, id, now);
  if (!loaded) return null;
  const checked = expectedRecords(loaded.domain, loaded.keys, settings).filter((record) => record.dkim?.state !== 'retiring');
  const checks = new Map<string, RecordCheck>();
  await Promise.all(checked.map(async (record) => checks.set(recordKey(record), await checker.check(record))));

  const next = checked.filter((record) => record.dkim?.state === 'pending');
  let promoted = false;
  if (next.length > 0 && next.every((record) => checks.get(recordKey(record))?.status === 'verified')) {
    const retireUntil = new Date(now.getTime() + settings.dkimOverlapDays * 86_400_000);
    promoted = await promotePendingKeys(db, Number(loaded.domain.id), next.map((record) => record.dkim!.keyId!), now, retireUntil);
    if (promoted) loaded = (await load(db, null, id, now)) ?? loaded;
  }

  // After a promotion the new key's record is the signing one, with the check it just passed.
  const records = expectedRecords(loaded.domain, loaded.keys, settings);
  const results: StoredCheck[] = [];
  for (const record of records) {
    const check = checks.get(recordKey(record));
    if (check) results.push({ type: record.type, name: record.name, value: record.value, ...check });
  }
  const required = records.filter((record) => record.required).map((record) => ({ record, check: checks.get(recordKey(record)) }));
  const broken = required.filter(({ check }) => check?.status === 'missing' || check?.status === 'wrong');
  const row = await storeCheck(db, id, {
    results,
    allRequiredVerified: required.every(({ check }) => check?.status === 'verified'),
    requiredBroken: broken.length > 0,
    details: {
      domainId: Number(loaded.domain.id),
      domain: loaded.domain.domain,
      records: broken.map(({ record, check }) => ({ type: record.type, name: record.name, status: check!.status, reason: check!.reason ?? null })),
    },
  }, now);
  if (!row) return null;
  return { view: domainView(row, loaded.keys, settings), previousStatus: row.previous_status, promoted };
}
