import { generateKeyPairSync } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';

const sql = sqlFile(new URL('./domains.sql', import.meta.url), ['insertDomain', 'listDomains', 'verifiedDomain'] as const);

export interface Domain {
  id: number;
  domain: string;
  verified: boolean;
  dkim_selector: string;
  dkim_public_key: string;
  dkim_ed25519_selector: string | null;
  dkim_ed25519_public_key: string | null;
  created_at: Date;
}

export class DomainError extends Error {}

export function normaliseDomain(input: string): string {
  const ascii = domainToASCII(input.trim().toLowerCase().replace(/\.$/, ''));
  if (!ascii || !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(ascii)) {
    throw new DomainError(`not a domain name: "${input}"`);
  }
  return ascii;
}

/** The TXT value a domain publishes at `<selector>._domainkey.<domain>`. */
export function dkimRecord(publicKeyPem: string, keyType: 'rsa' | 'ed25519' = 'rsa'): string {
  const der = Buffer.from(publicKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  // RFC 8463: an Ed25519 record carries the bare 32-byte key, not the SPKI structure around it.
  const key = keyType === 'ed25519' ? der.subarray(der.length - 32) : der;
  return `v=DKIM1; k=${keyType}; p=${key.toString('base64')}`;
}

/** Adds a domain with a fresh RSA-2048 DKIM key; `verified` is set by an installation admin until DNS checks exist. */
export async function addDomain(
  db: Queryable,
  accountId: number,
  input: string,
  options: { verified?: boolean; selector?: string; ed25519?: boolean } = {},
): Promise<Domain> {
  const domain = normaliseDomain(input);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const selector = options.selector ?? `mr${new Date().toISOString().slice(0, 7).replace('-', '')}`;
  const ed25519 = options.ed25519 ? generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }) : null;
  const [row] = await db.query<Domain & Record<string, unknown>>(sql.insertDomain, [
    accountId, domain, options.verified ?? false, selector, privateKey, publicKey,
    ed25519 ? `${selector}e` : null, ed25519?.privateKey ?? null, ed25519?.publicKey ?? null,
  ]);
  return row!;
}

export async function listDomains(db: Queryable, accountId: number): Promise<Domain[]> {
  return db.query<Domain & Record<string, unknown>>(sql.listDomains, [accountId]);
}

export async function isVerifiedDomain(db: Queryable, accountId: number, domain: string): Promise<boolean> {
  return (await db.query(sql.verifiedDomain, [accountId, domain.toLowerCase()])).length > 0;
}
