import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../accounts/apiKeys.js';
import type { OperatorRole, SignedInOperator } from '../accounts/operators.js';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { Clock } from '../shared/clock.js';
import { randomToken } from '../shared/ids.js';

const sql = sqlFile(new URL('./sessions.sql', import.meta.url), ['insertSession', 'sessionByHash', 'revokeSession', 'switchAccount'] as const);

/** The console's cookie: HttpOnly, SameSite=Strict, Secure over TLS (src/http/routes/session.ts). */
export const SESSION_COOKIE = 'mailroom_session';
/** The header a signed-in browser sends its CSRF token in, on every request that changes something. */
export const CSRF_HEADER = 'x-csrf-token';

export interface Session {
  id: number;
  expiresAt: string;
  role: OperatorRole;
  principal: Principal;
}

interface SessionRow extends Record<string, unknown> {
  id: number | string;
  expires_at: Date | string;
  operator_id: number | string;
  operator_name: string;
  role: OperatorRole;
  account_id: number | string;
  account_name: string;
  account_status: 'active' | 'suspended';
  account_hipaa: boolean;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Console sign-ins (issue 18). The browser holds a random token in an HttpOnly cookie; the table
 * holds its SHA-256, the operator, the account it acts on and when it expires. Looked up at every
 * request (no cache), so that signing out or a new password takes effect at once.
 *
 * CSRF: SameSite=Strict already keeps other sites' requests from carrying the cookie; on top of
 * it every request that changes something must send the session's CSRF token in a header, which
 * a page of another origin cannot read. The token is an HMAC of the session's token under a key
 * derived from the installation's key, so it needs no storage and the server can check it alone.
 */
export class SessionStore {
  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
    private readonly csrfKey: Buffer,
    private readonly lifetimeMs: number,
  ) {}

  async create(operator: SignedInOperator, remoteAddress: string | null): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
    const token = randomToken(32);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.lifetimeMs);
    await this.db.query(sql.insertSession, [hashToken(token), operator.operatorId, operator.accountId, now.toISOString(), expiresAt.toISOString(), remoteAddress]);
    return { token, csrfToken: this.csrfToken(token), expiresAt };
  }

  /** The live session a cookie's token stands for, or null (unknown, expired or signed out). */
  async authenticate(token: string): Promise<Session | null> {
    if (token.length > 200) return null;
    const [row] = await this.db.query<SessionRow>(sql.sessionByHash, [hashToken(token), this.clock.now().toISOString()]);
    if (!row) return null;
    return {
      id: Number(row.id),
      expiresAt: new Date(row.expires_at).toISOString(),
      role: row.role,
      principal: {
        keyId: null, sessionId: Number(row.id), scopes: null,
        accountId: Number(row.account_id), accountName: row.account_name, accountStatus: row.account_status, accountHipaa: row.account_hipaa,
        operatorId: Number(row.operator_id), operatorName: row.operator_name,
      },
    };
  }

  csrfToken(token: string): string {
    return createHmac('sha256', this.csrfKey).update(token).digest('base64url');
  }

  /** Whether a request's CSRF header is the session's token (constant time). */
  csrfMatches(token: string, presented: string | string[] | undefined): boolean {
    if (typeof presented !== 'string') return false;
    const expected = Buffer.from(this.csrfToken(token));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** An admin's session acts on another account; false when there is no such account (or it is a HIPAA one). */
  async switchAccount(sessionId: number, accountName: string): Promise<boolean> {
    return (await this.db.query(sql.switchAccount, [sessionId, accountName])).length > 0;
  }

  /** Signs a browser out; false when its session had ended already. */
  async revoke(token: string): Promise<boolean> {
    return (await this.db.query(sql.revokeSession, [hashToken(token), this.clock.now().toISOString()])).length > 0;
  }
}
