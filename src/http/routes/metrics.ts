import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../shared/errors.js';
import type { Metrics } from '../../shared/metrics.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * GET /metrics on the API port: open to anyone who can reach that port, it would show every
 * account's traffic, so it answers only `Authorization: Bearer <MAILROOM_METRICS_TOKEN>`, and not
 * at all (404) without a token. The usual place is its own listener (MAILROOM_METRICS_PORT).
 */
export function metricsRoutes(app: FastifyInstance, deps: { metrics: Metrics; metricsToken?: string }): void {
  const token = deps.metricsToken ?? '';
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (token === '') {
      throw new ApiError(404, 'NOT_FOUND', 'Metrics are not served on the API port: set MAILROOM_METRICS_PORT for a listener of their own, or MAILROOM_METRICS_TOKEN to serve them here to that bearer token.');
    }
    const given = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (!sameToken(given, token)) {
      throw new ApiError(401, 'UNAUTHORIZED', 'GET /metrics needs Authorization: Bearer <MAILROOM_METRICS_TOKEN>.', [], { 'www-authenticate': 'Bearer realm="mailroom-metrics"' });
    }
    return reply.type(METRICS_CONTENT_TYPE).send(await deps.metrics.render());
  });
}

/** Compared as digests, in constant time: neither the token nor its length shows in the timing. */
function sameToken(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
