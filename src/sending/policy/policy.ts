import { ApiError, type ErrorDetail } from '../../shared/errors.js';
import type { ParsedAddress } from '../addresses.js';
import type { AccountPolicies } from './accountPolicy.js';
import type { AttachmentInput, AttachmentPolicy } from './attachments.js';
import type { CallbackTargetCheck } from './callbackTargets.js';
import type { RateGrant, RateLimiter } from './rateLimits.js';
import type { RecipientDomainCheck } from './recipientDomains.js';
import { isNoReply, roleOf } from './roleAddresses.js';
import type { SenderPolicy } from './senders.js';

export interface SendingPolicyParts {
  senders: SenderPolicy;
  accounts: AccountPolicies;
  recipientDomains: RecipientDomainCheck;
  attachments: AttachmentPolicy;
  rates: RateLimiter;
  callbacks: CallbackTargetCheck;
}

export interface Recipient {
  field: string;
  address: ParsedAddress;
}

/** Checks a system message (a sender confirmation) is spared: it goes to the address being confirmed, whatever its role. */
export interface PolicyScope {
  system?: boolean;
}

/**
 * The policy step of the send pipeline (SPEC section 7), one place for HTTP, SMTP and campaigns.
 * Each refusal has its own code, which the SMTP door maps to its reply (src/smtp/replies.ts):
 * SENDER_NOT_VERIFIED, ROLE_ADDRESS_NOT_ALLOWED, RECIPIENT_DOMAIN_INVALID, ATTACHMENT_NOT_ALLOWED,
 * RATE_LIMITED, and VALIDATION_ERROR naming a callback to a private address (5.7.1 over SMTP).
 * Malformed addresses and sizes are refused earlier, by validation.
 */
export class SendingPolicy {
  constructor(private readonly parts: SendingPolicyParts) {}

  checkSender(accountId: number, from: ParsedAddress): Promise<void> {
    return this.parts.senders.checkSender(accountId, from);
  }

  /** Role addresses (unless the account allows them) and, when the account checks them, domains that take no mail. */
  async checkRecipients(accountId: number, recipients: readonly Recipient[], scope: PolicyScope = {}): Promise<void> {
    if (scope.system) return;
    const policy = await this.parts.accounts.get(accountId);
    if (!policy.allowRoleAddresses) {
      const roles = recipients.flatMap((recipient) => {
        const role = roleOf(recipient.address.address);
        return role ? [{ recipient, role }] : [];
      });
      if (roles.length > 0) {
        throw new ApiError(422, 'ROLE_ADDRESS_NOT_ALLOWED', `${roles.map(({ recipient }) => recipient.address.address).join(', ')} ${roles.length > 1 ? 'are role addresses' : 'is a role address'}: mail to a function rather than a person is refused unless the account allows it (PATCH /account {"allowRoleAddresses": true}).`,
          roles.map(({ recipient, role }) => ({ field: recipient.field, message: `is a role address (${role}@)` })));
      }
    }
    if (!policy.checkRecipientDomains) return;
    const domains = [...new Set(recipients.map((recipient) => recipient.address.domain))];
    const verdicts = new Map(await Promise.all(domains.map(async (domain) => [domain, await this.parts.recipientDomains.check(domain)] as const)));
    const bad: ErrorDetail[] = [];
    for (const recipient of recipients) {
      const verdict = verdicts.get(recipient.address.domain);
      if (verdict && !verdict.ok) bad.push({ field: recipient.field, message: verdict.reason });
    }
    if (bad.length > 0) {
      throw new ApiError(422, 'RECIPIENT_DOMAIN_INVALID', `A recipient's domain cannot receive mail: ${bad.map((detail) => detail.message).join('; ')}.`, bad);
    }
  }

  checkAttachments(attachments: readonly AttachmentInput[], field: (index: number) => string): Promise<void> {
    return this.parts.attachments.check(attachments, field);
  }

  /** The message's callbacks: refused when one points at a non-public address (SSRF), as webhooks are. */
  checkCallbacks(callbacks: readonly string[], field: (index: number) => string): Promise<void> {
    return this.parts.callbacks.check(callbacks, field);
  }

  /** Takes `count` messages from the account's rate limits (all or nothing unless `partial`). */
  async take(accountId: number, count: number, partial: boolean): Promise<RateGrant> {
    const { limits } = await this.parts.accounts.get(accountId);
    return this.parts.rates.take({ accountId, count, limits, partial });
  }

  /** What is accepted but worth telling the caller. */
  warnings(from: ParsedAddress, replyTo: ParsedAddress | null): ErrorDetail[] {
    if (!isNoReply(from.address) || replyTo) return [];
    return [{ field: 'from', message: 'is a no-reply address: recipients cannot answer it, and some mailbox providers trust such mail less; consider a replyTo people can write to' }];
  }

  senderChanged(accountId: number): void {
    this.parts.senders.forget(accountId);
  }

  accounts(): AccountPolicies {
    return this.parts.accounts;
  }
}
