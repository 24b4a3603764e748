import type { BounceReason } from '../../classification/reasons.js';

export type { BounceReason } from '../../classification/reasons.js';

export interface BounceRecipient {
  /** The failed recipient, domain lower-cased; '' only when the report does not name it. */
  address: string;
  /** RFC 3463 enhanced status, e.g. '5.1.1'; '' when none was given. */
  status: string;
  /** SMTP reply code, e.g. '550'; '' when none was given. */
  replyCode: string;
  reason: BounceReason;
  /** True only when the address itself is bad: only then may it be suppressed. */
  hard: boolean;
  /** The remote server's diagnostic, one line. */
  diagnostic: string;
  action?: string;
  remoteMta?: string;
  feedbackType?: string;
}

export interface OriginalMessage {
  messageId?: string;
  returnPath?: string;
  from?: string;
  to?: string;
  subject?: string;
  /** Lower-cased names, first occurrence wins. */
  headers: Record<string, string>;
}

export type BounceKind = 'bounce' | 'feedback' | 'autoreply' | 'delivered' | 'none';

export interface BounceReport {
  kind: BounceKind;
  /** kind === 'bounce', spelled out for callers that only care about that. */
  bounce: boolean;
  recipients: BounceRecipient[];
  original: OriginalMessage;
}

/**
 * What a format module found for one recipient, before the reason rules ran: the raw material
 * of a BounceRecipient.
 */
export interface Finding {
  address: string;
  diagnostic: string;
  /** Status as the report states it (DSN Status field); codes in the diagnostic are looked at later. */
  status?: string;
  action?: string;
  remoteMta?: string;
  /** The SMTP command that was refused (MAIL, RCPT, DATA, CONN...), when the report says. */
  command?: string;
  /** A reason the format itself states unambiguously (a JSON bounce type, a vendor code). */
  reason?: BounceReason;
  feedbackType?: string;
  /** Read from a format no rule knows (unknownFormat.ts): the class comes from the status alone. */
  unknownFormat?: boolean;
}
