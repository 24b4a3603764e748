import type { FastifyInstance } from 'fastify';
import { accountView } from '../../accounts/accounts.js';
import type { Database } from '../../db/database.js';
import { ApiError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';

/** The caller's account: its name, status, and the secret its messages' callbacks are signed with (SPEC section 5). */
export function accountRoutes(app: FastifyInstance, deps: { db: Database }): void {
  app.get('/account', { schema: { summary: 'The account of the key: name, status, callback signing secret', tags: ['account'] } }, async (request) => {
    const data = await accountView(deps.db, principalOf(request).accountId);
    if (!data) throw new ApiError(404, 'NOT_FOUND', 'The account of this key no longer exists.');
    return { meta: metaOf(request), data };
  });
}
