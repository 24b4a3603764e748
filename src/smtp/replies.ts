import { ApiError, PolicyRefusal } from '../shared/errors.js';

/** An SMTP refusal: the reply code smtp-server sends, and a text that starts with its enhanced code. */
export class SmtpReply extends Error {
  constructor(readonly responseCode: number, readonly enhancedCode: string, text: string) {
    super(`${enhancedCode} ${text.replace(/[\r\n]+/g, ' ')}`);
  }
}

export type Stage = 'connect' | 'auth' | 'mail' | 'rcpt' | 'data';

interface ReplyRule {
  /** The pipeline's error code (the same codes as the HTTP API's). */
  error: string;
  /** Only at this stage; absent: any. */
  stage?: Stage;
  /** Only for a refusal of policy answered over HTTP as a validation error (PolicyRefusal). */
  policy?: true;
  code: number;
  enhanced: string;
}

/**
 * How the pipeline's refusals (SPEC section 11 codes, shared with HTTP) are answered over SMTP:
 * data, not code, first match wins. Whatever is not listed is an internal error: 451 4.3.0, the
 * message is not stored and the client tries again.
 */
export const REPLY_RULES: readonly ReplyRule[] = [
  { error: 'ACCOUNT_SUSPENDED', code: 550, enhanced: '5.7.1' },
  { error: 'SENDER_NOT_VERIFIED', code: 550, enhanced: '5.7.1' },
  { error: 'RECIPIENT_SUPPRESSED', code: 550, enhanced: '5.7.1' },
  { error: 'RATE_LIMITED', code: 451, enhanced: '4.7.1' },
  { error: 'ROLE_ADDRESS_NOT_ALLOWED', code: 550, enhanced: '5.7.1' },
  { error: 'RECIPIENT_DOMAIN_INVALID', code: 550, enhanced: '5.1.2' },
  { error: 'ATTACHMENT_NOT_ALLOWED', code: 554, enhanced: '5.6.1' },
  { error: 'MESSAGE_TOO_LARGE', code: 552, enhanced: '5.3.4' },
  { error: 'IDEMPOTENCY_KEY_REUSED', code: 550, enhanced: '5.6.0' },
  { error: 'HIPAA_FEATURE_UNAVAILABLE', code: 550, enhanced: '5.7.1' },
  { error: 'VALIDATION_ERROR', policy: true, code: 550, enhanced: '5.7.1' },
  { error: 'VALIDATION_ERROR', stage: 'mail', code: 553, enhanced: '5.1.7' },
  { error: 'VALIDATION_ERROR', stage: 'rcpt', code: 553, enhanced: '5.1.3' },
  { error: 'VALIDATION_ERROR', code: 550, enhanced: '5.6.0' },
];

export function replyForError(error: unknown, stage: Stage): SmtpReply {
  if (error instanceof SmtpReply) return error;
  if (error instanceof ApiError) {
    const rule = REPLY_RULES.find((candidate) => candidate.error === error.code && (candidate.stage === undefined || candidate.stage === stage)
      && (candidate.policy === undefined || error instanceof PolicyRefusal));
    if (rule) return new SmtpReply(rule.code, rule.enhanced, error.message);
  }
  return new SmtpReply(451, '4.3.0', 'Internal error; the message was not accepted. Please try again later.');
}

export function isInternal(reply: SmtpReply): boolean {
  return reply.responseCode === 451 && reply.enhancedCode === '4.3.0';
}

/** Refusals whose text is Mailroom's own words and numbers, never a value the client sent. */
const OWN_WORDS = new Set(['HIPAA_FEATURE_UNAVAILABLE', 'RATE_LIMITED', 'ACCOUNT_SUSPENDED', 'MESSAGE_TOO_LARGE']);

/**
 * The same refusal without its text, for the HIPAA listener (docs/HIPAA.md): a pipeline's message
 * can quote an address, a file name or a header, which that listener never repeats. The code and
 * the error's name still say what went wrong.
 */
export function withheldReply(error: unknown, reply: SmtpReply): SmtpReply {
  if (isInternal(reply) || (error instanceof ApiError && OWN_WORDS.has(error.code))) return reply;
  const name = error instanceof ApiError ? `${error.code}: ` : '';
  return new SmtpReply(reply.responseCode, reply.enhancedCode, `${name}refused; the HIPAA endpoint does not repeat what was sent (docs/HIPAA.md).`);
}
