import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { randomToken } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';
import type { Principal } from './apiKeys.js';
import { parseRange } from './ipRanges.js';
import { hashPassword, verifyPassword } from '../crypto/passwords.js';

const sql = sqlFile(new URL('./smtpCredentials.sql', import.meta.url), [
  'insertPasswordCredential', 'insertIpCredential', 'listCredentials', 'revokeCredential', 'credentialByUsername', 'ipCredentials',
  'overlappingIpCredentials',
] as const);

export interface SmtpCredential {
  id: number;
  type: 'password' | 'ip';
  name: string;
  username: string | null;
  address: string | null;
  createdAt: string;
}

interface CredentialRow {
  id: number;
  kind: 'password' | 'ip';
  name: string;
  username: string | null;
  address: string | null;
  created_at: Date;
}

function view(row: CredentialRow): SmtpCredential {
  return { id: row.id, type: row.kind, name: row.name, username: row.username, address: row.address, createdAt: new Date(row.created_at).toISOString() };
}

export async function createPasswordCredential(db: Queryable, accountId: number, operatorId: number, name: string): Promise<SmtpCredential & { password: string }> {
  const username = `smtp_${randomToken(9).replace(/[-_]/g, 'x').toLowerCase()}`;
  const password = randomToken(24);
  const [row] = await db.query<CredentialRow & Record<string, unknown>>(sql.insertPasswordCredential, [accountId, operatorId, name, username, await hashPassword(password)]);
  return { ...view(row!), password };
}

export async function createIpCredential(db: Queryable, accountId: number, operatorId: number, name: string, range: string): Promise<SmtpCredential> {
  const [row] = await db.query<CredentialRow & Record<string, unknown>>(sql.insertIpCredential, [accountId, operatorId, name, range]);
  return view(row!);
}

export async function listCredentials(db: Queryable, accountId: number): Promise<SmtpCredential[]> {
  return (await db.query<CredentialRow & Record<string, unknown>>(sql.listCredentials, [accountId])).map(view);
}

export async function revokeCredential(db: Queryable, accountId: number, id: number): Promise<boolean> {
  return (await db.query(sql.revokeCredential, [accountId, id])).length > 0;
}

interface PrincipalRow {
  account_id: number;
  account_name: string;
  account_status: 'active' | 'suspended';
  account_hipaa: boolean;
  operator_id: number;
  operator_name: string;
}

function principalOf(row: PrincipalRow): Principal {
  return {
    keyId: null,
    accountId: row.account_id,
    accountName: row.account_name,
    accountStatus: row.account_status,
    accountHipaa: row.account_hipaa,
    scopes: null,
    operatorId: row.operator_id,
    operatorName: row.operator_name,
  };
}

interface IpRange {
  address: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
  principal: Principal;
}

export interface ResolverOptions {
  /** How long credentials are cached (a revocation or suspension is seen within this time). */
  ttlMs?: number;
  /** Warned at each reload while IP credentials of different accounts overlap. */
  log?: Pick<Logger, 'warn'>;
}

/**
 * Resolves SMTP credentials to principals. Results are cached for a few seconds, so a revoked
 * credential or a suspension is seen within that time; a successful password check is cached
 * under a digest of username and password, so a client that connects for every message pays the
 * slow hash once per interval, not per connection.
 */
export class SmtpCredentialResolver {
  private passwords = new Map<string, { principal: Principal | null; until: number }>();
  private ranges: { list: IpRange[]; until: number } | null = null;
  private loadingRanges: Promise<IpRange[]> | null = null;
  private readonly ttlMs: number;

  constructor(private readonly db: Queryable, private readonly options: ResolverOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5_000;
  }

  async byPassword(username: string, password: string): Promise<Principal | null> {
    const cacheKey = createHash('sha256').update(`${username}\0${password}`).digest('base64');
    const now = Date.now();
    const hit = this.passwords.get(cacheKey);
    if (hit && hit.until > now) return hit.principal;
    const [row] = await this.db.query<PrincipalRow & { password_hash: string } & Record<string, unknown>>(sql.credentialByUsername, [username]);
    const principal = row && (await verifyPassword(password, row.password_hash)) ? principalOf(row) : null;
    if (this.passwords.size > 10_000) this.passwords.clear();
    this.passwords.set(cacheKey, { principal, until: now + this.ttlMs });
    return principal;
  }

  /**
   * The account whose IP credential covers this client address (of its ranges the narrowest
   * wins, which picks the operator), or null. An address that ranges of two accounts cover
   * belongs to neither: such rows predate the rule that an address belongs to one account (or
   * were written by hand), and guessing would hand one account's mail to the other. The client
   * must then AUTH.
   */
  async byAddress(remoteAddress: string): Promise<Principal | null> {
    let client: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // "::ffff:10.0.0.1" (an IPv4 client on a dual-stack socket) is matched as 10.0.0.1.
      client = ipaddr.process(remoteAddress);
    } catch {
      return null;
    }
    let best: IpRange | null = null;
    for (const range of await this.loadRanges()) {
      if (range.address.kind() !== client.kind()) continue;
      if (!client.match(range.address, range.bits)) continue;
      if (best && best.principal.accountId !== range.principal.accountId) return null;
      if (!best || range.bits > best.bits) best = range;
    }
    return best?.principal ?? null;
  }

  forget(): void {
    this.passwords.clear();
    this.ranges = null;
  }

  private async loadRanges(): Promise<IpRange[]> {
    if (this.ranges && this.ranges.until > Date.now()) return this.ranges.list;
    this.loadingRanges ??= (async () => {
      try {
        const rows = await this.db.query<PrincipalRow & { range: string } & Record<string, unknown>>(sql.ipCredentials);
        const list = rows.flatMap((row) => {
          const range = parseRange(row.range);
          if (!range) return [];
          const [address, bits] = ipaddr.parseCIDR(range.text);
          return [{ address, bits, principal: principalOf(row) }];
        });
        await this.warnOfOverlaps();
        this.ranges = { list, until: Date.now() + this.ttlMs };
        return list;
      } finally {
        this.loadingRanges = null;
      }
    })();
    return this.loadingRanges;
  }

  /** Ids only: which credentials to revoke is the operators' call, and no log holds more. */
  private async warnOfOverlaps(): Promise<void> {
    if (!this.options.log) return;
    const pairs = await this.db.query<{ first: number; second: number }>(sql.overlappingIpCredentials);
    if (pairs.length === 0) return;
    this.options.log.warn(
      { overlappingCredentialIds: pairs.map((pair) => [Number(pair.first), Number(pair.second)]) },
      'SMTP: IP credentials of different accounts overlap; an address they share authenticates as nobody (AUTH required) until one is revoked',
    );
  }
}
