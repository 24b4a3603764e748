/**
 * Every way out (sandbox, relay, later mx and ses) implements this one interface: given the
 * envelope and the finished MIME bytes, report what the next hop said.
 */
export interface OutboundMessage {
  messageId: string;
  accountId: number;
  envelope: { from: string; to: string[] };
  subject: string;
  raw: Buffer;
}

export type DeliveryOutcome =
  /** Final delivery: the recipient's server (or the sandbox catcher) has it. */
  | { kind: 'delivered'; reply: string }
  /** Handed to a relay or a sending service; final delivery not yet known. */
  | { kind: 'sent'; reply: string }
  | { kind: 'deferred'; reply: string; code: number | null }
  | { kind: 'bounced'; reply: string; code: number | null; enhancedCode: string | null; bounceClass: 'HARD' | 'SOFT' };

export interface Transport {
  readonly name: string;
  deliver(message: OutboundMessage): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}
