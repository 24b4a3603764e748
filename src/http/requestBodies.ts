import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../shared/errors.js';
import { Semaphore } from '../shared/semaphore.js';

export interface BodyLimits {
  /** A request body must have arrived this long after Mailroom started to read it. */
  requestTimeoutMs: number;
  /** Large bodies (and bodies of unknown length) read at once; the others wait their turn. */
  largeBodyConcurrency: number;
}

/**
 * A body over this many bytes is large: a JSON message with a 10 MB attachment is 13 MB of text,
 * and while it is read, parsed, checked and stored it is held several times over (the bytes, the
 * string, the parsed object, the statement), about 80 MB per request.
 */
export const LARGE_BODY_BYTES = 1024 * 1024;

function isLarge(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > LARGE_BODY_BYTES;
  return request.headers['transfer-encoding'] !== undefined;
}

/**
 * How request bodies are read. (1) Large bodies are read a few at a time: twenty 13 MB requests
 * at once held 20 × 80 MB, and their statements grew PGlite's WASM memory, which never shrinks.
 * A request waiting for its turn is not read at all (its bytes stay in the socket buffers) and
 * is never refused. (2) A body must arrive within the time-out from the moment it is read
 * (the wait for a turn is not counted): a body that stops half-way, or a chunked body that never
 * ends, is answered 408 and its connection closed, rather than held until the client gives up.
 * The hook runs before parsing, after authentication: only a valid key can take a turn.
 */
export function guardRequestBodies(app: FastifyInstance, limits: BodyLimits): void {
  const turns = new Semaphore(limits.largeBodyConcurrency);
  // An answer sent before its request's body was read whole (a 401, a 404, a 413) closes the
  // connection: the rest of the body would otherwise have to arrive before the next request
  // could be read, and a client that stops sending it would hold the connection for ever.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.raw.complete) return payload;
    if (isLarge(request)) {
      const release = await turns.acquire();
      reply.raw.once('close', release);
      // The connection may have closed while this request waited: its 'close' has passed.
      if (request.raw.socket?.destroyed !== false) release();
    }
    return withDeadline(request, reply, payload, limits.requestTimeoutMs);
  });
}

/** The body as a stream that fails with 408 when it has not ended `ms` after now. */
function withDeadline(request: FastifyRequest, reply: FastifyReply, payload: Readable, ms: number): Readable {
  const body = new PassThrough();
  // An error here reaches the body parser when there is one; with none, it is nobody's.
  body.on('error', () => undefined);
  payload.pipe(body);
  payload.once('error', (error) => body.destroy(error));
  const timer = setTimeout(() => {
    if (request.raw.complete) return;
    // Answered already (a route that reads no body): only the connection is left to close.
    if (reply.sent) {
      request.raw.socket?.destroy();
      return;
    }
    body.destroy(new ApiError(408, 'REQUEST_TIMEOUT', `The request body did not arrive within ${ms / 1000} s; the connection is closed.`, [], { connection: 'close' }));
  }, ms);
  timer.unref();
  const socket = request.raw.socket;
  const clear = () => {
    clearTimeout(timer);
    socket?.removeListener('close', clear);
  };
  request.raw.once('end', clear);
  socket?.once('close', clear);
  return body;
}
