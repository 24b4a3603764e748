import { ApiError, validationError } from '../shared/errors.js';
import { normalizeAddress } from '../suppression/suppressions.js';
import { parseMailbox } from './addresses.js';

/** As over SMTP, where a message takes up to 50 RCPT TO in one go. */
export const MAX_TO = 50;

/**
 * POST /emails with `to` as an array: one request per recipient, each the request with that one
 * address, so each gets its own message (its own id, status, events and To header), as a
 * message submitted over SMTP with several recipients does. Null when `to` is not an array (the
 * seed's single-address request, untouched).
 */
export function splitRecipients(body: unknown): Record<string, unknown>[] | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const request = body as Record<string, unknown>;
  const to = request.to;
  if (!Array.isArray(to)) return null;
  if (to.length === 0 || to.length > MAX_TO) throw validationError([{ field: 'to', message: `must be an address or an array of 1 to ${MAX_TO} addresses` }]);
  const seen = new Map<string, number>();
  to.forEach((address, index) => {
    if (typeof address !== 'string') throw validationError([{ field: `to[${index}]`, message: 'must be a string' }]);
    const parsed = parseMailbox(address);
    const key = typeof parsed === 'string' ? address : normalizeAddress(parsed.address);
    const earlier = seen.get(key);
    if (earlier !== undefined) throw validationError([{ field: `to[${index}]`, message: `repeats to[${earlier}]: each recipient gets one message` }]);
    seen.set(key, index);
  });
  return to.map((address: string) => ({ ...request, to: address }));
}

/** An error of the request made for `to[index]`, its `to` details named as that element. */
export function forRecipient(error: ApiError, index: number): ApiError {
  const details = error.details.map((detail) => (detail.field === 'to' ? { ...detail, field: `to[${index}]` } : detail));
  const Kind = error.constructor as typeof ApiError; // a PolicyRefusal stays one
  return new Kind(error.status, error.code, error.message, details, error.headers);
}
