import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { accountView, setTrackingDefaults } from '../../accounts/accounts.js';
import type { Sealer } from '../../crypto/sealed.js';
import type { Database } from '../../db/database.js';
import { ApiError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { NullableString, One, SERIALIZED_AS_JSON, Timestamp } from '../schemas.js';
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

const Status = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);
const Account = Type.Object({
  name: Type.String(),
  status: Status,
  hipaa: Type.Boolean({ description: 'served only on the HIPAA listener (docs/HIPAA.md)' }),
  callbackSecret: Type.String({ description: "signs the requests to its messages' callback URLs" }),
  trackOpens: Type.Boolean(),
  trackClicks: Type.Boolean(),
  createdAt: Timestamp,
  allowRoleAddresses: Type.Boolean(),
  checkRecipientDomains: Type.Boolean(),
  rateLimits: Type.Object({ perSecond: Type.Integer({ description: '0: no limit' }), perDay: Type.Integer({ description: '0: no limit' }) }),
});
const Rate = Type.Number({ description: 'a fraction: 0.05 is 5%' });
const Reputation = Type.Object({
  status: Status,
  suspendedReason: NullableString(),
  suspendedAt: Type.Union([Timestamp, Type.Null()]),
  window: Type.Object({ since: Timestamp, days: Type.Integer() }),
  outcomes: Type.Integer({ description: 'messages delivered, handed to a relay, or bounced during delivery, in the window' }),
  hardBounces: Type.Integer(),
  complaints: Type.Integer(),
  bounceRate: Rate,
  complaintRate: Rate,
  enforced: Type.Boolean({ description: 'false while outcomes are below minVolume: the rates cannot warn or suspend yet' }),
  thresholds: Type.Object({ minVolume: Type.Integer(), bounceRateWarn: Rate, bounceRateSuspend: Rate, complaintRateWarn: Rate, complaintRateSuspend: Rate }),
});

/** The caller's account: its name, status, tracking defaults, and the secret its messages' callbacks are signed with (SPEC section 5). */
export function accountRoutes(app: FastifyInstance, deps: { db: Database; secrets: Sealer; clock: Clock; reputation: ReputationPolicy; policy: SendingPolicy }): void {
  const view = async (accountId: number) => {
    const data = await accountView(deps.db, deps.secrets, accountId);
    if (!data) throw new ApiError(404, 'NOT_FOUND', 'The account of this key no longer exists.');
    const policy = await deps.policy.accounts().get(accountId);
    return { ...data, allowRoleAddresses: policy.allowRoleAddresses, checkRecipientDomains: policy.checkRecipientDomains, rateLimits: policy.limits };
  };
  app.get('/account', { schema: { summary: 'The account of the key: name, status, tracking defaults, policy switches, rate limits, callback signing secret', tags: ['account'], response: { 200: One(Account) } }, ...SERIALIZED_AS_JSON }, async (request) => {
    return { meta: metaOf(request), data: await view(principalOf(request).accountId) };
  });
  app.patch<{ Body: Static<typeof SettingsBody> }>('/account', { schema: { summary: "Changes the account's tracking defaults and sending policy switches (role addresses, recipient domain checks)", tags: ['account'], body: SettingsBody, response: { 200: One(Account) } }, ...SERIALIZED_AS_JSON }, async (request) => {
    const { accountId } = principalOf(request);
    if (request.body.trackClicks === true) refuseForHipaa(principalOf(request), 'Click tracking', 'a tracked link carries the URL it leads to', [{ field: 'trackClicks', message: 'must not be true for a HIPAA account' }]);
    const { allowRoleAddresses, checkRecipientDomains, ...tracking } = request.body;
    await setTrackingDefaults(deps.db, accountId, tracking);
    await deps.policy.accounts().update(accountId, { allowRoleAddresses, checkRecipientDomains });
    return { meta: metaOf(request), data: await view(accountId) };
  });
  app.get('/account/reputation', {
    schema: { summary: 'Bounce and complaint rates over the sliding window, the thresholds, and whether the account is suspended', tags: ['account'], response: { 200: One(Reputation) } },
    ...SERIALIZED_AS_JSON,
  }, async (request) => {
    const data = await accountReputation(deps.db, principalOf(request).accountId, deps.reputation, deps.clock.now());
    if (!data) throw new ApiError(404, 'NOT_FOUND', 'The account of this key no longer exists.');
    return { meta: metaOf(request), data };
  });
}
