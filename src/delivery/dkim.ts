import type { Sealer } from '../crypto/sealed.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { dkimKeyContext } from '../secrets/contexts.js';

const sql = sqlFile(new URL('../domains/domains.sql', import.meta.url), ['signingKey'] as const);

/** The headers receivers expect signed (issue 3); absent ones are skipped by the signer. */
export const SIGNED_HEADERS = [
  'From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'Reply-To', 'List-Unsubscribe', 'List-Unsubscribe-Post',
  'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding',
];

export interface SigningKeyPem {
  domain: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  pem: string;
}

/**
 * The DKIM keys a message is signed with: its From domain's RSA key, and its Ed25519 key as a
 * second signature when the domain has one (RFC 8463). A message whose domain has no key in the
 * account (only possible with the sandbox, which accepts any sender) goes unsigned. Looked up for
 * every message, so cached briefly, opened (they are stored sealed); a key that does not open
 * throws, and the message is deferred rather than sent unsigned.
 */
/** What delivery needs of a message's From domain in its account. */
export interface SenderDomain {
  keys: SigningKeyPem[];
  /** The account verified the domain (not only added it): its bounces.<domain> MX is the user's. */
  verified: boolean;
}

export class SigningKeys {
  private cache = new Map<string, SenderDomain & { until: number }>();

  constructor(private readonly db: Queryable, private readonly secrets: Sealer, private readonly ttlMs = 60_000) {}

  async forSender(accountId: number, fromAddress: string): Promise<SigningKeyPem[]> {
    return (await this.senderDomain(accountId, fromAddress)).keys;
  }

  async senderDomain(accountId: number, fromAddress: string): Promise<SenderDomain> {
    const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase();
    const cacheKey = `${accountId}:${domain}`;
    const now = Date.now();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.until > now) return hit;
    const [row] = await this.db.query<{
      verified: boolean; dkim_selector: string; dkim_private_key: string; dkim_ed25519_selector: string | null; dkim_ed25519_private_key: string | null;
    }>(sql.signingKey, [accountId, domain]);
    const keys: SigningKeyPem[] = [];
    if (row) {
      const context = dkimKeyContext(accountId);
      keys.push({ domain, selector: row.dkim_selector, algorithm: 'rsa-sha256', pem: this.secrets.open(row.dkim_private_key, context) });
      if (row.dkim_ed25519_selector && row.dkim_ed25519_private_key) {
        keys.push({ domain, selector: row.dkim_ed25519_selector, algorithm: 'ed25519-sha256', pem: this.secrets.open(row.dkim_ed25519_private_key, context) });
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    const entry = { keys, verified: row?.verified === true, until: now + this.ttlMs };
    this.cache.set(cacheKey, entry);
    return entry;
  }
}
