/** An error that is the caller's to fix, answered as SPEC section 11 JSON with its status. */
export interface ErrorDetail {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * A refusal of policy that HTTP answers as the field's validation error (a callback to a private
 * address: 400 VALIDATION_ERROR naming it), and SMTP as a policy refusal (550 5.7.1, replies.ts)
 * rather than as malformed content.
 */
export class PolicyRefusal extends ApiError {}

export const validationError = (details: ErrorDetail[], message = 'The request is not valid.') =>
  new ApiError(400, 'VALIDATION_ERROR', message, details);
