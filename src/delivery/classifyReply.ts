import { replyRules, type CodeMatch, type ReplyRule, type RuleMatch, type SmtpCommand } from './replyRules.js';
import type { ReplyClassification } from './transport.js';

export interface ReplyInput {
  code: number | null;
  text: string;
  errorCode?: string | null;
  /** The command the reply answered, when known. */
  command?: SmtpCommand | null;
}

/** What the rules are tested against, computed once per reply. */
interface Facts {
  code: number | null;
  enhancedCode: string | null;
  text: string;
  errorCode: string | null;
  command: SmtpCommand | null;
}

/** Used only if replyRules ever loses its final catch-all: a failure must never throw in the delivery path. */
const FALLBACK: ReplyRule = {
  id: 'no-rule', description: 'no rule matched', match: {}, result: { outcome: 'deferred', reason: 'undefined', bounceClass: null },
};

/** Decides what one reply means with the first matching rule of replyRules.ts. */
export function classifyReply(input: ReplyInput): ReplyClassification {
  const code = Number.isInteger(input.code) ? input.code : null;
  const facts: Facts = {
    code,
    enhancedCode: enhancedCodeOf(input.text, code),
    text: flatten(input.text),
    errorCode: input.errorCode ?? null,
    command: input.command ?? null,
  };
  const rule = replyRules.find((candidate) => matches(candidate.match, facts)) ?? FALLBACK;
  const { outcome, reason, bounceClass } = rule.result;
  return {
    outcome,
    code,
    enhancedCode: facts.enhancedCode,
    reason,
    bounceClass: outcome === 'bounced' ? bounceClass : null,
    // A hint on a bounce or a delivery would mean nothing: nothing is retried.
    retryAfterMs: outcome === 'deferred' ? retryAfterMsOf(facts.text) : null,
    rule: rule.id,
  };
}

/** Reads a Nodemailer error (fields responseCode, response, code, message) */
export function classifySmtpError(error: unknown): ReplyClassification & { reply: string } {
  const fields: Record<string, unknown> = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const response = typeof fields.response === 'string' && fields.response.trim() !== '' ? fields.response : null;
  const errorCode = typeof fields.code === 'string' ? fields.code : null;
  const message = typeof fields.message === 'string' ? fields.message : error === undefined || error === null ? 'unknown error' : String(error);
  // Nodemailer sets responseCode whenever it has a reply; the text is the fallback for hand-made errors.
  const code = typeof fields.responseCode === 'number' ? fields.responseCode : response ? leadingCode(response) : null;
  const text = response ?? message;
  const reply = response ?? (errorCode && !message.startsWith(errorCode) ? `${errorCode}: ${message}` : message);
  return { ...classifyReply({ code, text, errorCode, command: commandOf(fields.command) }), reply };
}

function matches(match: RuleMatch, facts: Facts): boolean {
  const { code } = facts;
  if (match.codes && (code === null || !match.codes.some((entry) => codeMatches(entry, code)))) return false;
  if (match.enhanced !== undefined && (facts.enhancedCode === null || !enhancedMatches(match.enhanced, facts.enhancedCode))) return false;
  if (match.text && !match.text.test(facts.text)) return false;
  if (match.errorCodes && (facts.errorCode === null || !match.errorCodes.includes(facts.errorCode.toUpperCase()))) return false;
  if (match.commands && (facts.command === null || !match.commands.includes(facts.command))) return false;
  if (match.unless?.enhanced && facts.enhancedCode !== null && match.unless.enhanced.test(facts.enhancedCode)) return false;
  if (match.unless?.text && match.unless.text.test(facts.text)) return false;
  return true;
}

/** Nodemailer's name for the command an error answered ("MAIL FROM", "RCPT TO", "DATA"), as the rules name it. */
function commandOf(command: unknown): SmtpCommand | null {
  if (typeof command !== 'string') return null;
  const word = command.trim().toUpperCase();
  if (word.startsWith('MAIL')) return 'MAIL';
  if (word.startsWith('RCPT')) return 'RCPT';
  if (word === 'DATA' || word.startsWith('BDAT')) return 'DATA';
  return null;
}

function codeMatches(entry: CodeMatch, code: number): boolean {
  return typeof entry === 'number' ? entry === code : code >= entry.from && code <= entry.to;
}

function enhancedMatches(pattern: RegExp | string, enhanced: string): boolean {
  return typeof pattern === 'string' ? enhanced === pattern || enhanced.startsWith(`${pattern}.`) : pattern.test(enhanced);
}

// Not preceded or followed by digits or dots, so IP addresses (10.5.1.1) and versions are not read as codes.
const ENHANCED = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)/;
const AFTER_CODE = /^\d{3}[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![\d.])/;

/**
 * The RFC 3463 code, where servers put it: right after the reply code ("550 5.1.1", Gmail's
 * "550-5.1.1", Exchange's "550 #5.1.0"), or anywhere in the text (qmail's "(#5.7.1)"). It is
 * trusted only when its class agrees with the reply code: "550 4.2.2" says two different things.
 */
function enhancedCodeOf(text: string, code: number | null): string | null {
  if (code === null) return null;
  const found = AFTER_CODE.exec(text.trimStart())?.[1] ?? ENHANCED.exec(text)?.[0] ?? null;
  if (found === null || Number(found[0]) !== Math.floor(code / 100)) return null;
  return found;
}

/** One line of text for the phrase rules: multi-line replies break sentences at "\n550-5.1.1 ". */
function flatten(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/^\d{3}[ -](?:#?[245]\.\d{1,3}\.\d{1,3}(?![\d.])\s*)?/, '').trim())
    .filter((line) => line !== '')
    .join(' ')
    .replace(/\s+/g, ' ');
}

function leadingCode(text: string): number | null {
  const match = /^\s*([2-5]\d\d)(?:[ -]|$)/.exec(text);
  return match ? Number(match[1]) : null;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// A number only counts when it follows a retry verb closely ("exceeded 100 messages in 1 hour" is not a hint).
const RETRY_HINT = /\b(?:try|retry|wait|again|come back|greylisted)\b[^.\d]{0,30}?(?:(\d{1,2}):(\d{2}):(\d{2})\b|(\d+(?:\.\d+)?)\s*(sec(?:ond)?s?|s|min(?:ute)?s?|m|h(?:ou)?rs?|h|days?|d)\b)/i;

/** "try again in 5 minutes", "retry after 300 seconds", "(in 10 min)", milter-greylist's "come back in 00:05:00". */
function retryAfterMsOf(text: string): number | null {
  const match = RETRY_HINT.exec(text);
  if (!match) return null;
  const [, hours, minutes, seconds, amount, unit] = match;
  if (hours !== undefined && minutes !== undefined && seconds !== undefined) {
    return (Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds)) * 1000;
  }
  const perUnit = UNIT_MS[(unit ?? '').charAt(0).toLowerCase()];
  return amount !== undefined && perUnit !== undefined ? Math.round(Number(amount) * perUnit) : null;
}
