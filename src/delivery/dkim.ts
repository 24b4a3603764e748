import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';

const sql = sqlFile(new URL('../domains/domains.sql', import.meta.url), ['signingKey'] as const);

/** The headers receivers expect signed (issue 3); absent ones are skipped by the signer. */
export const SIGNED_HEADERS = [
  'From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'Reply-To', 'List-Unsubscribe', 'List-Unsubscribe-Post',
  'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding',
];

interface SigningKey {
  selector: string;
  privateKey: string;
  /** RFC 8463 second signature, when the domain has an Ed25519 key. */
  ed25519: { selector: string; privateKey: string } | null;
}

/**
 * DKIM-signs each outgoing message for its From domain with that domain's key (mailauth's
 * signer: rsa-sha256, relaxed/relaxed). A message whose domain has no key in the account (only
 * possible with the sandbox, which accepts any sender) goes unsigned. Keys are cached briefly:
 * this runs for every message.
 */
export class DkimSigner {
  private cache = new Map<string, { key: SigningKey | null; until: number }>();

  constructor(private readonly db: Queryable, private readonly ttlMs = 60_000) {}

  async sign(accountId: number, fromAddress: string, raw: Buffer): Promise<Buffer> {
    const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase();
    const key = await this.keyFor(accountId, domain);
    if (!key) return raw;
    const rsa = { signingDomain: domain, selector: key.selector, privateKey: key.privateKey, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' };
    const signatures = [rsa];
    if (key.ed25519) signatures.push({ ...rsa, ...key.ed25519, algorithm: 'ed25519-sha256' });
    // mailauth signs once per entry of signatureData, over one pass of the body.
    const result = await dkimSign(raw, { ...rsa, headerList: SIGNED_HEADERS, signatureData: signatures });
    if (result.errors.length > 0) throw new Error(`DKIM signing for ${domain} failed: ${result.errors[0]!.message}`);
    if (!/^DKIM-Signature:/i.test(result.signatures)) throw new Error(`DKIM signing for ${domain} produced no signature`);
    return Buffer.concat([Buffer.from(result.signatures), raw]);
  }

  private async keyFor(accountId: number, domain: string): Promise<SigningKey | null> {
    const cacheKey = `${accountId}:${domain}`;
    const now = Date.now();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.until > now) return hit.key;
    const [row] = await this.db.query<{
      dkim_selector: string; dkim_private_key: string; dkim_ed25519_selector: string | null; dkim_ed25519_private_key: string | null;
    }>(sql.signingKey, [accountId, domain]);
    const key = row ? {
      selector: row.dkim_selector,
      privateKey: row.dkim_private_key,
      ed25519: row.dkim_ed25519_selector && row.dkim_ed25519_private_key ? { selector: row.dkim_ed25519_selector, privateKey: row.dkim_ed25519_private_key } : null,
    } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { key, until: now + this.ttlMs });
    return key;
  }
}
