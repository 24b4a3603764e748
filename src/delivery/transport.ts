import type { CaughtCopy } from '../queue/queue.js';

/**
 * Every way out (sandbox, relay, mx, later ses) implements this one interface: given the
 * envelope and the finished MIME bytes, report what the next hop said about each recipient.
 */
export interface OutboundMessage {
  messageId: string;
  accountId: number;
  /** `from` is the sender's address; `to` are the recipients still to be delivered. */
  envelope: { from: string; to: string[] };
  /** The Return-Path (VERP address) for a transaction carrying these recipients. */
  returnPath(recipients: readonly string[]): string;
  subject: string;
  raw: Buffer;
  /**
   * A HIPAA account's message (docs/HIPAA.md): only over TLS with a certificate that verifies for
   * the host's name (a host without STARTTLS or with a bad certificate is never sent to in clear;
   * the recipients are deferred with reason `tlsrequired`, and bounce with it after the retries),
   * and the sandbox keeps no content of it.
   */
  hipaa?: boolean;
  /**
   * Settles once this attempt's result is committed (or could not be). An SMTP connection holds
   * the final dot of its next transaction until then, so a crash leaves at most one message per
   * connection that the next hop has but Mailroom has not recorded: the duplicate window.
   */
  recorded?: Promise<void>;
}

export type BounceClass = 'HARD' | 'SOFT';

/**
 * What one reply (or one connection failure) means, decided by the rules in replyRules.ts.
 * `reason` uses the bounce vocabulary of ../shared/data/bounces/README.md (userunknown,
 * mailboxfull, blocked, spamdetected, ...), so events and reports speak one language.
 */
export interface ReplyClassification {
  outcome: 'delivered' | 'deferred' | 'bounced';
  code: number | null;
  enhancedCode: string | null;
  reason: string | null;
  /** Set for bounces only: HARD when the address itself is bad. */
  bounceClass: BounceClass | null;
  /** A "try again in N minutes" hint from the receiver, in milliseconds. */
  retryAfterMs: number | null;
  /** The id of the rule that decided, for the event and for debugging a misclassification. */
  rule: string;
}

export interface RecipientResult extends ReplyClassification {
  address: string;
  /** The reply text as the server sent it (or the connection error). */
  reply: string;
}

export interface DeliveryReport {
  /**
   * `delivered`: final delivery (the recipient's server, or the sandbox catcher, has it).
   * `sent`: handed to a relay or a sending service; final delivery not yet known.
   */
  acceptedAs: 'delivered' | 'sent';
  recipients: RecipientResult[];
  /** Which host answered, and how the connection was protected, for the event. */
  host?: string;
  /**
   * The destination the attempt went to (the MX host set of the recipients' domain, or the
   * relay), kept on a waiting message for the queue views; for several, one still waiting.
   */
  destination?: string;
  tls?: 'starttls' | 'implicit' | 'none' | 'plaintext-after-tls-failure';
  /**
   * A transport whose delivery is a row in Mailroom's own database (the sandbox) hands the row
   * back instead of writing it: the worker stores it with the result, in one transaction.
   */
  caught?: CaughtCopy;
}

export interface Transport {
  readonly name: string;
  deliver(message: OutboundMessage): Promise<DeliveryReport>;
  /** Recipient domains whose destination is saturated right now: the worker claims none of them. */
  busyDomains?(): string[];
  /**
   * Messages waiting for a free slot at their destination. They hold no connection, so the
   * worker does not count them against its concurrency: a slow destination's backlog must not
   * use up the slots of every other destination. `onWaiting` is told when one starts to wait.
   */
  waiting?(): number;
  onWaiting?(listener: () => void): void;
  close(): Promise<void>;
}
