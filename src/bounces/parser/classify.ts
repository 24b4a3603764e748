import { reasonRules, type ReasonMatch, type ReasonRule } from './reasonRules.js';
import type { BounceReason } from './types.js';

export interface ReasonInput {
  text: string;
  status: string;
  replyCode: string;
  command?: string | undefined;
}

export interface ReasonDecision {
  reason: BounceReason;
  /** The id of the rule that decided, or 'none'. */
  rule: string;
}

/** Decides a reason with the first matching rule of reasonRules.ts. */
export function classifyReason(input: ReasonInput, rules: readonly ReasonRule[] = reasonRules): ReasonDecision {
  const facts = { ...input, text: phrasesOf(input.text) };
  const rule = rules.find((candidate) => matches(candidate.match, facts));
  // Nothing to go on (no code, no phrase we know): hold judgement rather than guess.
  return rule ? { reason: rule.reason, rule: rule.id } : { reason: 'onhold', rule: 'none' };
}

/**
 * What the phrase rules read: codes are matched on their own fields, and addresses are no words
 * ("policyviolation@example.org" says nothing about a policy), so both are taken out.
 */
function phrasesOf(text: string): string {
  return text
    .replace(/[^\s<>"'(),;:[\]]+@[\w.-]+/g, 'address')
    .replace(/\b[245]\d\d[ -](?:#?[245]\.\d{1,3}\.\d{1,3}\b)?/g, ' ')
    .replace(/\s+/g, ' ');
}

function matches(match: ReasonMatch, input: ReasonInput): boolean {
  if (match.text && !match.text.test(input.text)) return false;
  if (match.status !== undefined && !statusMatches(match.status, input.status)) return false;
  if (match.codes) {
    const code = Number(input.replyCode);
    if (!input.replyCode || !match.codes.some((entry) => (typeof entry === 'number' ? entry === code : code >= entry.from && code <= entry.to))) return false;
  }
  if (match.command && (!input.command || !match.command.includes(input.command))) return false;
  return true;
}

function statusMatches(pattern: RegExp | string, status: string): boolean {
  if (!status) return false;
  return typeof pattern === 'string' ? status === pattern || status.startsWith(`${pattern}.`) : pattern.test(status);
}
