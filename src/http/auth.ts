import type { FastifyRequest } from 'fastify';
import type { KeyAuthenticator, Principal } from '../accounts/apiKeys.js';
import { doorRefusal, type Door } from '../hipaa/door.js';
import { ApiError } from '../shared/errors.js';
import { allows, requiredScope } from '../accounts/scopes.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SCHEME = /^(App|Bearer)\s+(\S+)\s*$/i;

/**
 * `Authorization: App <key>` or `Bearer <key>`; every route behind it sees only its account's
 * data. At `onRequest`, before the body is read: a HIPAA account's key on the standard listener
 * (or another account's on the HIPAA one) is refused before any content reaches the process.
 */
export function authHook(authenticator: KeyAuthenticator, door: Door = 'standard') {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) throw unauthorized('Missing Authorization header: use "App <key>" or "Bearer <key>".');
    const match = SCHEME.exec(header);
    if (!match) throw unauthorized('Malformed Authorization header: use "App <key>" or "Bearer <key>".');
    const principal = await authenticator.authenticate(match[2]!);
    if (!principal) throw unauthorized('The API key is not valid or was revoked.');
    // Known before the refusal below, so that a HIPAA key refused here is still audited.
    request.principal = principal;
    const refusal = doorRefusal(principal, door);
    if (refusal) throw refusal;
    // A route that does not exist answers 404 whatever the key may do.
    if (request.is404 || principal.scopes === null) return;
    const needed = requiredScope(request.method, request.routeOptions.url);
    if (!allows(principal.scopes, needed)) {
      throw new ApiError(403, 'INSUFFICIENT_SCOPE', `This API key has the scope(s) ${principal.scopes.join(', ')}; ${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} needs "${needed}".`);
    }
  };
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'UNAUTHORIZED', message, [], { 'www-authenticate': 'Bearer realm="mailroom"' });
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('Authentication required.');
  return request.principal;
}
