import type { Config } from '../config/settings.js';
import type { BodyLimits } from './requestBodies.js';

/** The HTTP listener's time-outs and large-body turns (MAILROOM_HTTP_*, MAILROOM_LARGE_BODY_CONCURRENCY). */
export interface HttpLimits extends BodyLimits {
  /** Headers must have arrived this long after the request began (slowloris). */
  headersTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { requestTimeoutMs: 60_000, headersTimeoutMs: 15_000, largeBodyConcurrency: 4 };

export function httpLimits(config: Pick<Config, 'httpRequestTimeoutSeconds' | 'httpHeadersTimeoutSeconds' | 'largeBodyConcurrency'>): HttpLimits {
  return {
    requestTimeoutMs: config.httpRequestTimeoutSeconds * 1000,
    headersTimeoutMs: config.httpHeadersTimeoutSeconds * 1000,
    largeBodyConcurrency: config.largeBodyConcurrency,
  };
}
