import type { SealContext } from '../crypto/sealed.js';

/**
 * The secrets Mailroom stores sealed, and the context each is sealed in: its kind, and the
 * account it belongs to, so that a value copied into another kind of column or into another
 * account's row does not open (GET /account would otherwise show a secret copied from another
 * account in clear). A kind covers every column of that kind of value: a rotation moves a
 * webhook's secret to previous_secret, and a DKIM key from domain_dkim_keys to domains, without
 * opening them.
 */
export const SECRET_KINDS = ['dkim-private-key', 'webhook-secret', 'callback-secret', 'hipaa-index-key', 'message-data-key'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

export function secretContext(kind: SecretKind, accountId: number): SealContext {
  return { purpose: kind, owner: `account:${Number(accountId)}` };
}

/** DKIM private keys: domains.dkim_private_key, dkim_ed25519_private_key and domain_dkim_keys.private_key. */
export const dkimKeyContext = (accountId: number): SealContext => secretContext('dkim-private-key', accountId);
/** webhooks.secret and previous_secret. */
export const webhookSecretContext = (accountId: number): SealContext => secretContext('webhook-secret', accountId);
/** accounts.callback_secret. */
export const callbackSecretContext = (accountId: number): SealContext => secretContext('callback-secret', accountId);
/** accounts.hipaa_index_key: the HMAC key of a HIPAA account's keyed hashes (src/hipaa/vault.ts). */
export const hipaaIndexKeyContext = (accountId: number): SealContext => secretContext('hipaa-index-key', accountId);
/** message_keys.wrapped: a HIPAA message's data key. */
export const messageDataKeyContext = (accountId: number): SealContext => secretContext('message-data-key', accountId);
