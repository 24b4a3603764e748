import type { Principal } from '../accounts/apiKeys.js';
import { ApiError } from '../shared/errors.js';

/**
 * Which listener a request or an SMTP session came in on (docs/HIPAA.md). A HIPAA account is
 * served only on the HIPAA listeners, and they serve no other account: the check runs as soon
 * as the credential is known, before any content is read.
 */
export type Door = 'standard' | 'hipaa';

export const HIPAA_ENDPOINT_REQUIRED = 'HIPAA_ENDPOINT_REQUIRED';
export const HIPAA_ACCOUNT_REQUIRED = 'HIPAA_ACCOUNT_REQUIRED';

/** The refusal for this principal at this door, or null when it may go on. */
export function doorRefusal(principal: Principal, door: Door): ApiError | null {
  if (principal.accountHipaa && door !== 'hipaa') {
    return new ApiError(403, HIPAA_ENDPOINT_REQUIRED, 'This is a HIPAA account: it is served only on the HIPAA endpoint (MAILROOM_HIPAA_HTTP_PORT, MAILROOM_HIPAA_SMTP_PORT). Nothing was read or stored.');
  }
  if (!principal.accountHipaa && door === 'hipaa') {
    return new ApiError(403, HIPAA_ACCOUNT_REQUIRED, 'This endpoint serves HIPAA accounts only; use the standard endpoint. Nothing was read or stored.');
  }
  return null;
}
