import type { Config } from '../../config/settings.js';
import type { Queryable } from '../../db/database.js';
import type { Clock } from '../../shared/clock.js';
import { AccountPolicies } from './accountPolicy.js';
import { TargetResolver } from '../../webhooks/ssrf.js';
import { AttachmentPolicy } from './attachments.js';
import { CallbackTargetCheck } from './callbackTargets.js';
import { SendingPolicy } from './policy.js';
import { RateLimiter } from './rateLimits.js';
import { RecipientDomainCheck } from './recipientDomains.js';
import { SenderPolicy } from './senders.js';

/** The policy step as the configuration asks for it. */
export function createSendingPolicy(config: Config, db: Queryable, clock: Clock): SendingPolicy {
  const requireVerifiedSender = config.requireVerifiedSender === 'auto' ? config.transport !== 'sandbox' : config.requireVerifiedSender === 'on';
  return new SendingPolicy({
    senders: new SenderPolicy(db, requireVerifiedSender, config.transport === 'sandbox'),
    accounts: new AccountPolicies(db, {
      checkRecipientDomains: config.checkRecipientDomains,
      limits: { perSecond: config.rateLimitPerSecond, perDay: config.rateLimitPerDay },
    }),
    recipientDomains: new RecipientDomainCheck(config.dnsServers),
    attachments: new AttachmentPolicy(config.attachmentExtensions),
    rates: new RateLimiter(db, clock),
    callbacks: new CallbackTargetCheck(new TargetResolver(config.dnsServers, config.allowPrivateCallbacks, 2_000), config.allowPrivateCallbacks),
  });
}
