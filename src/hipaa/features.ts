import type { FastifyRequest } from 'fastify';
import type { Principal } from '../accounts/apiKeys.js';
import { ApiError, type ErrorDetail } from '../shared/errors.js';

export const HIPAA_FEATURE_UNAVAILABLE = 'HIPAA_FEATURE_UNAVAILABLE';

/**
 * What a HIPAA account may not use (docs/HIPAA.md, seed 000: "any feature not explicitly listed
 * as supported is excluded"): each refusal names the feature and why, with its own code, so a
 * client learns at once rather than sending PHI somewhere it would be kept or shown.
 */
export function hipaaRefusal(feature: string, why: string, details: ErrorDetail[] = []): ApiError {
  return new ApiError(403, HIPAA_FEATURE_UNAVAILABLE, `${feature} is not available to HIPAA accounts: ${why} (docs/HIPAA.md).`, details);
}

export function refuseForHipaa(principal: Principal, feature: string, why: string, details: ErrorDetail[] = []): void {
  if (principal.accountHipaa) throw hipaaRefusal(feature, why, details);
}

/** An onRequest hook for a group of routes no HIPAA account may use (after authentication, before the body is read). */
export function hipaaExcluded(feature: string, why: string) {
  return async (request: FastifyRequest): Promise<void> => {
    if (request.principal) refuseForHipaa(request.principal, feature, why);
  };
}

/** A send request's HIPAA rules: no click tracking (a tracked link carries its URL), callbacks only as plain URLs. */
export function checkHipaaSend(principal: Principal, request: { trackClicks?: boolean | null; callbacks?: readonly string[] | null }, fieldOf: (name: string) => string = (name) => name): void {
  if (!principal.accountHipaa) return;
  if (request.trackClicks === true) {
    throw hipaaRefusal('Click tracking', 'a tracked link carries the URL it leads to', [{ field: fieldOf('trackClicks'), message: 'must not be true for a HIPAA account' }]);
  }
  const freeForm = (request.callbacks ?? []).flatMap((callback, index) => (/^https?:\/\/[^\s]+$/i.test(callback) ? [] : [index]));
  if (freeForm.length > 0) {
    throw hipaaRefusal('Free-form callback data', 'only plain http(s) callback URLs are accepted', freeForm.map((index) => ({ field: `${fieldOf('callbacks')}[${index}]`, message: 'is not an http(s) URL' })));
  }
}
