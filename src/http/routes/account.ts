import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { accountView, setTrackingDefaults } from '../../accounts/accounts.js';
import type { Sealer } from '../../crypto/sealed.js';
import type { Database } from '../../db/database.js';
import { ApiError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { refuseForHipaa } from '../../hipaa/features.js';
import { accountReputation, type ReputationPolicy } from '../../reputation/reputation.js';
import type { Clock } from '../../shared/clock.js';
import type { SendingPolicy } from '../../sending/policy/policy.js';

const SettingsBody = Type.Object({
  trackOpens: Type.Optional(Type.Boolean({ description: 'track opens of messages that do not set trackOpens' })),
  trackClicks: Type.Optional(Type.Boolean({ description: 'track clicks in messages that do not set trackClicks' })),
  allowRoleAddresses: Type.Optional(Type.Boolean({ description: 'allow recipients such as postmaster@, abuse@, support@ (refused by default)' })),
  checkRecipientDomains: Type.Optional(Type.Boolean({ description: 'refuse recipients whose domain has no MX, A or AAAA record' })),
}, { additionalProperties: false });

/** The caller's account: its name, status, tracking defaults, and the secret its messages' callbacks are signed with (SPEC section 5). */
export function accountRoutes(app: FastifyInstance, deps: { db: Database; secrets: Sealer; clock: Clock; reputation: ReputationPolicy; policy: SendingPolicy }): void {
  const view = async (accountId: number) => {
    const data = await accountView(deps.db, deps.secrets, accountId);
    if (!data) throw new ApiError(404, 'NOT_FOUND', 'The account of this key no longer exists.');
    const policy = await deps.policy.accounts().get(accountId);
    return { ...data, allowRoleAddresses: policy.allowRoleAddresses, checkRecipientDomains: policy.checkRecipientDomains, rateLimits: policy.limits };
  };
  app.get('/account', { schema: { summary: 'The account of the key: name, status, tracking defaults, policy switches, rate limits, callback signing secret', tags: ['account'] } }, async (request) => {
    return { meta: metaOf(request), data: await view(principalOf(request).accountId) };
  });
  app.patch<{ Body: Static<typeof SettingsBody> }>('/account', { schema: { summary: "Changes the account's tracking defaults and sending policy switches (role addresses, recipient domain checks)", tags: ['account'], body: SettingsBody } }, async (request) => {
    const { accountId } = principalOf(request);
    if (request.body.trackClicks === true) refuseForHipaa(principalOf(request), 'Click tracking', 'a tracked link carries the URL it leads to', [{ field: 'trackClicks', message: 'must not be true for a HIPAA account' }]);
    const { allowRoleAddresses, checkRecipientDomains, ...tracking } = request.body;
    await setTrackingDefaults(deps.db, accountId, tracking);
    await deps.policy.accounts().update(accountId, { allowRoleAddresses, checkRecipientDomains });
    return { meta: metaOf(request), data: await view(accountId) };
  });
  app.get('/account/reputation', {
    schema: { summary: 'Bounce and complaint rates over the sliding window, the thresholds, and whether the account is suspended', tags: ['account'] },
  }, async (request) => {
    const data = await accountReputation(deps.db, principalOf(request).accountId, deps.reputation, deps.clock.now());
    if (!data) throw new ApiError(404, 'NOT_FOUND', 'The account of this key no longer exists.');
    return { meta: metaOf(request), data };
  });
}
