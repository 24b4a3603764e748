import { generateKeyPair } from 'node:crypto';
import type { Sealer } from '../crypto/sealed.js';
import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { dkimKeyContext } from '../secrets/contexts.js';
import { asciiDomain } from '../sending/addresses.js';
import { hasHiddenCharacters } from '../shared/characters.js';

const sql = sqlFile(new URL('./domains.sql', import.meta.url), [
  'insertDomain', 'domainExists', 'createDomain', 'listDomains', 'domainById', 'keysOfDomains', 'deleteDomain', 'verifiedDomain',
  'lockDomain', 'selectorsInUse', 'deletePendingKeys', 'insertPendingKey', 'pendingKeys', 'retireKey', 'activateKeys',
  'recordCheck', 'dropRetiredKeys', 'claimRecheck',
] as const);

export type DomainStatus = 'pending' | 'verified' | 'failed';
export type DkimAlgorithm = 'rsa' | 'ed25519';

/** The result of one record's last check, as stored (domains.check_results). */
export interface StoredCheck {
  type: string;
  name: string;
  value: string;
  status: string;
  reason?: string;
}

/** A domains row, without its private keys. */
export interface Domain {
  id: number;
  account_id: number;
  domain: string;
  /** status = 'verified' (kept for readers written before `status`). */
  verified: boolean;
  status: DomainStatus;
  /** dns: the status follows DNS checks; admin: an installation admin verified it without DNS. */
  verification: 'dns' | 'admin';
  check_results: StoredCheck[];
  verified_at: Date | null;
  failed_at: Date | null;
  last_checked_at: Date | null;
  /** The signing key (RSA). */
  dkim_selector: string;
  dkim_public_key: string;
  /** The signing Ed25519 key, signed with beside the RSA key, if the domain has one. */
  dkim_ed25519_selector: string | null;
  dkim_ed25519_public_key: string | null;
  created_at: Date;
}

/** A DKIM key that does not sign: a rotation's next key (pending) or a replaced one (retiring). */
export interface DkimKey {
  id: number;
  domain_id: number;
  selector: string;
  algorithm: DkimAlgorithm;
  state: 'pending' | 'retiring';
  public_key: string;
  created_at: Date;
  retire_until: Date | null;
}

export class DomainError extends Error {}

/** Failed domains may still send for this long: a DNS hiccup or a record being moved must not stop all mail. */
export const FAILED_GRACE_HOURS = 72;

/**
 * A domain as an account or an admin gives it, in the form it is stored: lower case, IDN labels
 * as A-labels, without a final dot or surrounding spaces. Held to the same rule as the domain of
 * an address (asciiDomain): a control or invisible character refuses it, never disappears.
 */
export function normaliseDomain(input: string): string {
  const ascii = hasHiddenCharacters(input) ? null : asciiDomain(input.trim().replace(/\.$/, ''));
  if (!ascii) throw new DomainError(`not a domain name: ${JSON.stringify(input)}`);
  return ascii;
}

/** One DNS label (the `e` of an Ed25519 selector must still fit in 63 octets). */
export const SELECTOR_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,60}[a-z0-9])?$/;

export function normaliseSelector(input: string): string {
  const selector = input.trim().toLowerCase();
  if (!SELECTOR_PATTERN.test(selector)) throw new DomainError(`not a DKIM selector (letters, digits and inner hyphens, at most 62): "${input}"`);
  return selector;
}

/** The bytes a DKIM record's p= carries: the SPKI structure for RSA, the bare 32-byte key for Ed25519 (RFC 8463). */
export function dkimKeyData(publicKeyPem: string, keyType: DkimAlgorithm = 'rsa'): Buffer {
  const der = Buffer.from(publicKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return keyType === 'ed25519' ? der.subarray(der.length - 32) : der;
}

/** The TXT value a domain publishes at `<selector>._domainkey.<domain>`. */
export function dkimRecord(publicKeyPem: string, keyType: DkimAlgorithm = 'rsa'): string {
  return `v=DKIM1; k=${keyType}; p=${dkimKeyData(publicKeyPem, keyType).toString('base64')}`;
}

/** The selector of a new key when none is asked for: `mr<year><month>`. */
export function defaultSelector(now: Date): string {
  return `mr${now.toISOString().slice(0, 7).replace('-', '')}`;
}

/** The Ed25519 key's selector beside an RSA selector. */
export function ed25519Selector(selector: string): string {
  return `${selector}e`;
}

const PEM = { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } } as const;

interface KeyPair {
  publicKey: string;
  /** Once out of newKeys: sealed. */
  privateKey: string;
}

/** A key pair generated on the thread pool: an RSA-2048 key takes tens of milliseconds, which the event loop need not wait. */
function generatePem(type: DkimAlgorithm): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: string, privateKey: string) => (error ? reject(error) : resolve({ publicKey, privateKey }));
    if (type === 'rsa') generateKeyPair('rsa', { modulusLength: 2048, ...PEM }, done);
    else generateKeyPair('ed25519', PEM, done);
  });
}

/**
 * RSA-2048 (every receiver verifies it), and an Ed25519 key beside it when asked; the private
 * keys sealed for the account, as they are stored.
 */
async function newKeys(secrets: Sealer, accountId: number, ed25519: boolean): Promise<{ rsa: KeyPair; ed25519: KeyPair | null }> {
  const [rsa, ed] = await Promise.all([generatePem('rsa'), ed25519 ? generatePem('ed25519') : Promise.resolve(null)]);
  const context = dkimKeyContext(accountId);
  const sealed = (pair: KeyPair): KeyPair => ({ publicKey: pair.publicKey, privateKey: secrets.seal(pair.privateKey, context) });
  return { rsa: sealed(rsa), ed25519: ed && sealed(ed) };
}

/**
 * Adds a domain with a fresh RSA-2048 DKIM key (and an Ed25519 one if asked). `verified: true` is
 * an installation admin's word (the CLI's --verified, tests): the domain may send at once, and
 * DNS checks report on it without failing it. Adding a domain again keeps its keys.
 */
export async function addDomain(
  db: Queryable,
  secrets: Sealer,
  accountId: number,
  input: string,
  options: { verified?: boolean; selector?: string; ed25519?: boolean; now?: Date } = {},
): Promise<Domain> {
  const domain = normaliseDomain(input);
  const now = options.now ?? new Date();
  const selector = options.selector ? normaliseSelector(options.selector) : defaultSelector(now);
  const keys = await newKeys(secrets, accountId, options.ed25519 ?? false);
  const [row] = await db.query<Domain & Record<string, unknown>>(sql.insertDomain, [
    accountId, domain, options.verified ?? false, selector, keys.rsa.privateKey, keys.rsa.publicKey,
    keys.ed25519 ? ed25519Selector(selector) : null, keys.ed25519?.privateKey ?? null, keys.ed25519?.publicKey ?? null, now,
  ]);
  return row!;
}

/** POST /domains: a new domain with its keys, or null when the account already has it. */
export async function createDomain(
  db: Queryable,
  secrets: Sealer,
  accountId: number,
  input: { domain: string; selector?: string; algorithm?: DkimAlgorithm },
  now: Date,
): Promise<Domain | null> {
  const domain = normaliseDomain(input.domain);
  const selector = input.selector ? normaliseSelector(input.selector) : defaultSelector(now);
  // Spares generating a key for a domain the account has (the insert still decides a race).
  if ((await db.query(sql.domainExists, [accountId, domain])).length > 0) return null;
  const keys = await newKeys(secrets, accountId, input.algorithm === 'ed25519');
  const [row] = await db.query<Domain & Record<string, unknown>>(sql.createDomain, [
    accountId, domain, selector, keys.rsa.privateKey, keys.rsa.publicKey,
    keys.ed25519 ? ed25519Selector(selector) : null, keys.ed25519?.privateKey ?? null, keys.ed25519?.publicKey ?? null, now,
  ]);
  return row ?? null;
}

export async function listDomains(db: Queryable, accountId: number): Promise<Domain[]> {
  return db.query<Domain & Record<string, unknown>>(sql.listDomains, [accountId]);
}

/** One domain of an account (accountId null: of any account, for the re-check job). */
export async function getDomain(db: Queryable, accountId: number | null, id: number): Promise<Domain | null> {
  const [row] = await db.query<Domain & Record<string, unknown>>(sql.domainById, [accountId, id]);
  return row ?? null;
}

/** The non-signing keys of these domains that are still listed at `now`, by domain id. */
export async function keysOfDomains(db: Queryable, domainIds: readonly number[], now: Date): Promise<Map<number, DkimKey[]>> {
  const byDomain = new Map<number, DkimKey[]>();
  if (domainIds.length === 0) return byDomain;
  const rows = await db.query<DkimKey & Record<string, unknown>>(sql.keysOfDomains, [domainIds, now]);
  for (const row of rows) {
    const list = byDomain.get(Number(row.domain_id)) ?? [];
    list.push(row);
    byDomain.set(Number(row.domain_id), list);
  }
  return byDomain;
}

/** Deletes a domain and its keys; its mail is no longer signed and (beyond the sandbox) no longer accepted. */
export async function deleteDomain(db: Queryable, accountId: number, id: number): Promise<{ id: number; domain: string } | null> {
  const [row] = await db.query<{ id: number; domain: string }>(sql.deleteDomain, [accountId, id]);
  return row ?? null;
}

/**
 * May `domain` be used as a sender domain of the account now: verified, or failed less than
 * FAILED_GRACE_HOURS ago (a check that finds a record broken does not stop all mail at once;
 * the account is told by a DOMAIN_VERIFICATION_FAILED event and has the grace to fix it).
 */
export async function isVerifiedDomain(db: Queryable, accountId: number, domain: string, now: Date = new Date()): Promise<boolean> {
  return (await db.query(sql.verifiedDomain, [accountId, domain.toLowerCase(), now, FAILED_GRACE_HOURS], 'verifiedDomain')).length > 0;
}

export class SelectorInUseError extends DomainError {}

/**
 * Starts a key rotation: a new key (and a new Ed25519 key if the domain signs with one) under a
 * new selector, pending until a check finds its record published; the current key signs until
 * then. A rotation started before the previous one's record was published replaces its key.
 * Returns false when the account has no such domain.
 */
export async function startRotation(db: Database, secrets: Sealer, accountId: number, id: number, requested: string | undefined, now: Date): Promise<boolean> {
  const wanted = requested === undefined ? undefined : normaliseSelector(requested);
  if (!(await getDomain(db, accountId, id))) return false;
  // Generated before the transaction, which would otherwise hold PGlite's one connection for the
  // RSA key's generation; the Ed25519 key costs nothing and is dropped if the domain has none.
  const keys = await newKeys(secrets, accountId, true);
  return db.transaction(async (tx) => {
    const [domain] = await tx.query<{ dkim_selector: string; dkim_ed25519_selector: string | null }>(sql.lockDomain, [accountId, id]);
    if (!domain) return false;
    const withEd25519 = domain.dkim_ed25519_selector !== null;
    const inUse = new Set([domain.dkim_selector, domain.dkim_ed25519_selector ?? '']);
    for (const row of await tx.query<{ selector: string }>(sql.selectorsInUse, [id, now])) inUse.add(row.selector);
    const free = (selector: string) => !inUse.has(selector) && !(withEd25519 && inUse.has(ed25519Selector(selector)));
    let selector: string;
    if (wanted !== undefined) {
      if (!free(wanted)) throw new SelectorInUseError(`the selector "${wanted}" is in use by this domain's keys; choose another`);
      selector = wanted;
    } else {
      const base = defaultSelector(now);
      selector = base;
      for (let n = 2; !free(selector); n++) selector = `${base}-${n}`;
    }
    await tx.query(sql.deletePendingKeys, [id]);
    await tx.query(sql.insertPendingKey, [id, selector, 'rsa', keys.rsa.privateKey, keys.rsa.publicKey, now]);
    if (withEd25519 && keys.ed25519) await tx.query(sql.insertPendingKey, [id, ed25519Selector(selector), 'ed25519', keys.ed25519.privateKey, keys.ed25519.publicKey, now]);
    return true;
  });
}

/**
 * Ends a rotation whose new records were found published: the pending keys sign from now on and
 * the keys they replace are listed as retiring until `retireUntil`. `checkedKeyIds` are the
 * pending keys the check found; if a newer rotation replaced them meanwhile, nothing changes.
 * The private keys move from domain_dkim_keys to domains sealed as they are: every DKIM key of
 * an account is sealed in one context.
 */
export async function promotePendingKeys(db: Database, domainId: number, checkedKeyIds: readonly number[], now: Date, retireUntil: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [domain] = await tx.query<{ dkim_selector: string; dkim_public_key: string; dkim_ed25519_selector: string | null; dkim_ed25519_public_key: string | null }>(
      sql.lockDomain, [null, domainId],
    );
    if (!domain) return false;
    const pending = await tx.query<{ id: number; selector: string; algorithm: DkimAlgorithm; private_key: string; public_key: string }>(sql.pendingKeys, [domainId]);
    const found = new Set(checkedKeyIds.map(Number));
    if (pending.length === 0 || pending.length !== found.size || !pending.every((key) => found.has(Number(key.id)))) return false;
    const rsa = pending.find((key) => key.algorithm === 'rsa');
    const ed = pending.find((key) => key.algorithm === 'ed25519');
    if (rsa) await tx.query(sql.retireKey, [domainId, domain.dkim_selector, 'rsa', domain.dkim_public_key, now, retireUntil]);
    if (ed && domain.dkim_ed25519_selector && domain.dkim_ed25519_public_key) {
      await tx.query(sql.retireKey, [domainId, domain.dkim_ed25519_selector, 'ed25519', domain.dkim_ed25519_public_key, now, retireUntil]);
    }
    await tx.query(sql.activateKeys, [
      domainId, rsa?.selector ?? null, rsa?.private_key ?? null, rsa?.public_key ?? null, ed?.selector ?? null, ed?.private_key ?? null, ed?.public_key ?? null,
    ]);
    await tx.query(sql.deletePendingKeys, [domainId]);
    return true;
  });
}

/**
 * Stores a check's results and moves the status (see recordCheck in domains.sql): every required
 * record verified -> verified; one missing or wrong -> failed if it was verified by DNS; a
 * transition writes its account event. Returns the row and the status before, or null if the
 * domain was deleted meanwhile.
 */
export async function storeCheck(
  db: Queryable,
  id: number,
  check: { results: StoredCheck[]; allRequiredVerified: boolean; requiredBroken: boolean; details: Record<string, unknown> },
  now: Date,
): Promise<(Domain & { previous_status: DomainStatus }) | null> {
  const [row] = await db.query<Domain & { previous_status: DomainStatus } & Record<string, unknown>>(sql.recordCheck, [
    id, JSON.stringify(check.results), check.allRequiredVerified, check.requiredBroken, now, JSON.stringify(check.details),
  ]);
  return row ?? null;
}

/** Forgets retiring keys whose overlap has ended. */
export async function dropRetiredKeys(db: Queryable, now: Date): Promise<number> {
  return (await db.query(sql.dropRetiredKeys, [now])).length;
}

/** Claims up to `limit` verified or failed (DNS-verified) domains last checked at or before `dueBefore`. */
export async function claimRecheck(db: Queryable, now: Date, dueBefore: Date, limit: number): Promise<{ id: number; account_id: number; domain: string }[]> {
  return db.query<{ id: number; account_id: number; domain: string }>(sql.claimRecheck, [now, dueBefore, limit]);
}
