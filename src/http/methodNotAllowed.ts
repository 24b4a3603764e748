import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../shared/errors.js';
import { sendError } from './errors.js';

/** The methods any route here is served with (Fastify adds HEAD to every GET). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods the router has a route for at this path (a concrete path: `/emails/abc/cancel`). */
export function methodsAt(app: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => {
    try {
      return app.findRoute({ method, url: path }) !== null;
    } catch {
      // A path the router cannot take apart is no route at all.
      return false;
    }
  });
}

/**
 * What no route answered. A path that has routes for other methods (`PUT /emails`) is a 405
 * with `Allow` naming them (RFC 9110 section 15.5.6), so that a client learns it has the method
 * wrong and not the path; anything else is a 404. A path whose route matched this very method and
 * then found nothing (a missing console asset) stays a 404.
 */
export function notFoundHandler(app: FastifyInstance) {
  return (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = methodsAt(app, path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      const error = new ApiError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not a method of ${path}; it takes ${allowed.join(', ')}.`, [], { allow: allowed.join(', ') });
      return sendError(request, reply, error);
    }
    return sendError(request, reply, new ApiError(404, 'NOT_FOUND', `No route ${request.method} ${path}.`));
  };
}
