import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import ipaddr from 'ipaddr.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { randomToken } from '../shared/ids.js';
import type { Principal } from './apiKeys.js';

const sql = sqlFile(new URL('./smtpCredentials.sql', import.meta.url), [
  'insertPasswordCredential', 'insertIpCredential', 'listCredentials', 'revokeCredential', 'credentialByUsername', 'ipCredentials',
] as const);

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;

/** scrypt at N=2^15, r=8 (RFC 7914's interactive-login cost): about 40 ms on libuv's thread pool. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const HASH_BYTES = 32;

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

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, HASH_BYTES, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem,
  } as typeof SCRYPT);
  return timingSafeEqual(actual, expected);
}

/** Canonical form of an address or CIDR range ("10.1.2.3" is "10.1.2.3/32"), or null if it is neither. */
export function normalizeRange(input: string): string | null {
  const text = input.trim();
  try {
    if (text.includes('/')) {
      const [address, bits] = ipaddr.parseCIDR(text);
      const network = ipaddr.fromByteArray(networkBytes(address.toByteArray(), bits));
      return `${network.toString()}/${bits}`;
    }
    const address = ipaddr.parse(text);
    return `${address.toString()}/${address.kind() === 'ipv4' ? 32 : 128}`;
  } catch {
    return null;
  }
}

function networkBytes(bytes: number[], bits: number): number[] {
  return bytes.map((byte, index) => {
    const keep = Math.max(0, Math.min(8, bits - index * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
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
  operator_id: number;
  operator_name: string;
}

function principalOf(row: PrincipalRow): Principal {
  return {
    keyId: null,
    accountId: row.account_id,
    accountName: row.account_name,
    accountStatus: row.account_status,
    operatorId: row.operator_id,
    operatorName: row.operator_name,
  };
}

interface IpRange {
  address: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
  principal: Principal;
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

  constructor(private readonly db: Queryable, private readonly ttlMs = 5_000) {}

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

  /** The account whose IP credential covers this client address (the narrowest range wins), or null. */
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
        const rows = await this.db.query<PrincipalRow & { address: string } & Record<string, unknown>>(sql.ipCredentials);
        const list = rows.map((row) => {
          const [address, bits] = ipaddr.parseCIDR(row.address);
          return { address, bits, principal: principalOf(row) };
        });
        this.ranges = { list, until: Date.now() + this.ttlMs };
        return list;
      } finally {
        this.loadingRanges = null;
      }
    })();
    return this.loadingRanges;
  }
}
