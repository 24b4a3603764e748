import { isKeyedHash } from '../hipaa/vault.js';
import type { Sealer } from '../crypto/sealed.js';
import { callbackSecretContext, webhookSecretContext } from '../secrets/contexts.js';

/** One pending delivery as the dispatcher reads it (outbox.sql pendingOfLanes). */
export interface PendingDelivery {
  id: number;
  lane: string;
  webhook_id: number | null;
  account_id: number;
  event_id: number;
  due_at: Date;
  created_at: Date;
  attempts: number;
  url: string;
  type: string;
  message_id: string | null;
  event_at: Date;
  details: Record<string, unknown>;
  to_address: string | null;
  from_address: string | null;
  external_id: string | null;
  client_id: string | null;
  alias: string | null;
  campaign_id: string | null;
  tags: string[] | null;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  /** The webhook's `ordered` (callbacks: always true). */
  ordered: boolean;
  callback_secret: string;
}

/** The JSON body of a webhook or callback request: the event of SPEC section 4, with the message's identifiers. */
export interface EventPayload {
  id: number;
  type: string;
  messageId: string | null;
  externalId: string | null;
  clientId: string | null;
  alias: string | null;
  campaignId: string | null;
  tags: string[];
  to: string | null;
  from: string | null;
  timestamp: string;
  details: Record<string, unknown>;
}

/** The columns an event and its message give a payload (a delivery's row, or a row of the event stream). */
export type EventFields = Pick<PendingDelivery, 'event_id' | 'type' | 'message_id' | 'event_at' | 'details' | 'external_id' | 'client_id' | 'alias' | 'campaign_id' | 'tags' | 'to_address' | 'from_address'>;

export function eventPayload(delivery: EventFields): EventPayload {
  // A HIPAA message (its recipient stored as a keyed hash): ids, status, time and the minimised
  // details only; its free-form fields are the caller's and may carry PHI (docs/HIPAA.md).
  if (isKeyedHash(delivery.to_address)) {
    return {
      id: delivery.event_id, type: delivery.type, messageId: delivery.message_id, externalId: null, clientId: null, alias: null,
      campaignId: delivery.campaign_id, tags: [], to: null, from: delivery.from_address, timestamp: new Date(delivery.event_at).toISOString(), details: delivery.details,
    };
  }
  return {
    id: delivery.event_id,
    type: delivery.type,
    messageId: delivery.message_id,
    externalId: delivery.external_id,
    clientId: delivery.client_id,
    alias: delivery.alias,
    campaignId: delivery.campaign_id,
    tags: delivery.tags ?? [],
    to: delivery.to_address,
    from: delivery.from_address,
    timestamp: new Date(delivery.event_at).toISOString(),
    details: delivery.details,
  };
}

/** `webhook-id`: the same for every attempt and every receiver of one event (receivers deduplicate on it). */
export function webhookId(eventId: number): string {
  return `evt_${eventId}`;
}

/**
 * The secrets a delivery is signed with: a webhook's (and its previous one during a rotation), or
 * the account's callback secret; stored sealed, opened here (a SealedValueError when one does not open).
 */
export function signingSecrets(delivery: PendingDelivery, now: Date, secrets: Pick<Sealer, 'open'>): string[] {
  if (delivery.webhook_id === null) return [secrets.open(delivery.callback_secret, callbackSecretContext(delivery.account_id))];
  const context = webhookSecretContext(delivery.account_id);
  const opened = [secrets.open(delivery.secret!, context)];
  if (delivery.previous_secret && delivery.previous_secret_until && new Date(delivery.previous_secret_until) > now) opened.push(secrets.open(delivery.previous_secret, context));
  return opened;
}
