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

export const validationError = (details: ErrorDetail[], message = 'The request is not valid.') =>
  new ApiError(400, 'VALIDATION_ERROR', message, details);
