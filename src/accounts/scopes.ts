/**
 * What an API key may do (issue 18). A key made without scopes may do everything, as every key
 * made before scopes existed; a scoped key is refused (403 INSUFFICIENT_SCOPE) where it lacks one.
 * Kept to three, like Postmark's server and account tokens or SendGrid's restricted keys cut
 * down to what users ask for: a key on an application server that can only send, a key for a
 * dashboard or report script that can only read, and keys that manage the account.
 */
export const SCOPES = ['send', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Sending routes (every other write is `admin`, every read `read`). */
const SEND_ROUTES = new Set(['POST /emails', 'POST /emails/bulk', 'POST /email/3/send']);

/** The scope a request needs: `send` to send, `read` to read, `admin` for any other change. */
export function requiredScope(method: string, routeUrl: string | undefined): Scope {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (SEND_ROUTES.has(`${method} ${routeUrl ?? ''}`)) return 'send';
  return 'admin';
}

/** Whether a key with `held` scopes (null: all) may act with `needed`. */
export function allows(held: readonly Scope[] | null, needed: Scope): boolean {
  return held === null || held.includes(needed);
}

/** Whether a key with `held` scopes may make a key with `wanted` (null: all): never one that may do more than itself. */
export function mayGrant(held: readonly Scope[] | null, wanted: readonly Scope[] | null): boolean {
  if (held === null) return true;
  return wanted !== null && wanted.every((scope) => held.includes(scope));
}

/** Scopes in their canonical order, once each. */
export function normalizeScopes(scopes: readonly Scope[]): Scope[] {
  return SCOPES.filter((scope) => scopes.includes(scope));
}
