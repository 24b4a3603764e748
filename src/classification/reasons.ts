/**
 * The bounce vocabulary of shared/data/bounces (sisimai's reason names). A live SMTP reply can
 * carry any of ReplyReason; a returned message can also say that a delay ran out into a size
 * limit, that it holds judgement, or that it is no bounce at all (a complaint, a vacation notice,
 * a successful-delivery report).
 */
export type ReplyReason =
  | 'userunknown' | 'hostunknown' | 'hasmoved' | 'notaccept'
  | 'mailboxfull' | 'suspend' | 'mesgtoobig'
  | 'blocked' | 'badreputation' | 'filtered' | 'spamdetected' | 'virusdetected' | 'policyviolation'
  | 'authfailure' | 'requireptr' | 'securityerror' | 'failedstarttls' | 'norelaying' | 'rejected'
  | 'notcompliantrfc' | 'contenterror' | 'syntaxerror' | 'speeding' | 'toomanyconn'
  | 'networkerror' | 'systemerror' | 'mailererror' | 'expired' | 'undefined';

export type BounceReason = ReplyReason | 'exceedlimit' | 'onhold' | 'feedback' | 'vacation' | 'delivered';

/** Only these say the address itself is bad, and then only on a permanent failure: only then may it be suppressed. */
export const HARD_REASONS: ReadonlySet<BounceReason> = new Set<BounceReason>(['userunknown', 'hostunknown', 'hasmoved', 'notaccept']);
