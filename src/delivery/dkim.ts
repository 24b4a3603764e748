import { createPrivateKey } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { dkimSignatures, type SignatureSpec } from './dkimSign.js';

const sql = sqlFile(new URL('../domains/domains.sql', import.meta.url), ['signingKey'] as const);

/** The headers receivers expect signed (issue 3); absent ones are skipped by the signer. */
export const SIGNED_HEADERS = [
  'From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'Reply-To', 'List-Unsubscribe', 'List-Unsubscribe-Post',
  'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding',
];

/**
 * DKIM-signs each outgoing message for its From domain with that domain's keys: RSA always,
 * Ed25519 as a second signature when the domain has one (RFC 8463). A message whose domain has
 * no key in the account (only possible with the sandbox, which accepts any sender) goes unsigned.
 * Keys are cached briefly, already parsed: this runs for every message.
 */
export class DkimSigner {
  private cache = new Map<string, { specs: SignatureSpec[]; until: number }>();

  constructor(private readonly db: Queryable, private readonly ttlMs = 60_000) {}

  async sign(accountId: number, fromAddress: string, raw: Buffer): Promise<Buffer> {
    const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase();
    const specs = await this.specsFor(accountId, domain);
    if (specs.length === 0) return raw;
    return Buffer.concat([Buffer.from(dkimSignatures(raw, SIGNED_HEADERS, specs), 'latin1'), raw]);
  }

  private async specsFor(accountId: number, domain: string): Promise<SignatureSpec[]> {
    const cacheKey = `${accountId}:${domain}`;
    const now = Date.now();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.until > now) return hit.specs;
    const [row] = await this.db.query<{
      dkim_selector: string; dkim_private_key: string; dkim_ed25519_selector: string | null; dkim_ed25519_private_key: string | null;
    }>(sql.signingKey, [accountId, domain]);
    const specs: SignatureSpec[] = [];
    if (row) {
      specs.push({ domain, selector: row.dkim_selector, algorithm: 'rsa-sha256', key: createPrivateKey(row.dkim_private_key) });
      if (row.dkim_ed25519_selector && row.dkim_ed25519_private_key) {
        specs.push({ domain, selector: row.dkim_ed25519_selector, algorithm: 'ed25519-sha256', key: createPrivateKey(row.dkim_ed25519_private_key) });
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { specs, until: now + this.ttlMs });
    return specs;
  }
}
