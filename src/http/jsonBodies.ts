import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * An empty body sent as `Content-Type: application/json` is taken as no body. Bodiless actions
 * (POST /queue/retry, /emails/{id}/cancel, /domains/{id}/verify, DELETE ...) are often called by
 * clients that set that header on every request, and Fastify's own parser answers them
 * FST_ERR_CTP_EMPTY_JSON_BODY, although the same call without the header succeeds. A route that
 * needs a body still answers its validation 400 (a body of undefined fails its schema as a
 * missing one does); a body that is not empty is parsed by Fastify's parser as before, with its
 * prototype-poisoning checks.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // parseAs 'string' hands a string; the type also allows the Buffer of parseAs 'buffer'.
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

/**
 * The preValidation of a route whose body is optional (POST /queue/retry, /domains/{id}/rotate,
 * /templates/{id}/preview): no body, or an empty one, is validated as `{}`. Fastify validates a
 * missing body against the route's body schema, which refuses it ("must be object").
 */
export async function noBodyIsEmptyObject(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}
