import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../shared/log.js';
import { ApiError } from '../shared/errors.js';
import { errorHandler, sendError } from './errors.js';

/** The longest request target answered (8 KiB, as common proxies allow); a longer one is 414. */
export const MAX_URL_LENGTH = 8 * 1024;

const REQUEST_LINE_START = /^[A-Za-z]+ /;

/**
 * Node counts the request line into its header size limit, so an over-long URL and over-large
 * headers fail alike: the bytes being read tell them apart. A request line that has not ended,
 * or ended past MAX_URL_LENGTH, is the URL's fault.
 */
function urlOverflowed(rawPacket: Buffer | undefined): boolean {
  if (!rawPacket) return false;
  const head = rawPacket.subarray(0, MAX_URL_LENGTH + 32).toString('latin1');
  if (!REQUEST_LINE_START.test(head)) return false;
  const end = head.indexOf('\n');
  return end === -1 || end > MAX_URL_LENGTH;
}

/** What a request Node could not parse is answered (status, code, message). */
function answerTo(error: ConnectionError): [number, string, string] {
  // The bytes Node's parser was reading when it failed (typed by Fastify as their JSON form).
  const rawPacket: unknown = error.rawPacket;
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'REQUEST_TIMEOUT', 'The request headers did not arrive in time; the connection is closed.'];
    case 'HPE_HEADER_OVERFLOW':
      return urlOverflowed(Buffer.isBuffer(rawPacket) ? rawPacket : undefined)
        ? [414, 'URI_TOO_LONG', `The request URL is longer than ${MAX_URL_LENGTH} bytes.`]
        : [431, 'HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts.'];
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_STRICT':
    case 'HPE_INVALID_EOF_STATE':
      return [400, 'BAD_REQUEST', 'The request body is malformed or ended early (chunked encoding or Content-Length).'];
    default:
      return [400, 'BAD_REQUEST', 'The request is not valid HTTP/1.1.'];
  }
}

/**
 * Requests that fail before Fastify sees them (Node's parser: a malformed request line or header,
 * headers too large, headers that never end, a broken chunked body) are answered in SPEC section
 * 11's JSON, like every other error, and their connection closed. Written straight to the socket:
 * there is no request object. Nothing is written once a response has started on it.
 */
export function clientErrorHandler(log: Logger) {
  return (error: ConnectionError, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message] = answerTo(error);
    log.debug({ code: error.code, status }, 'unparseable request answered');
    writeAndClose(socket, status, code, message);
  };
}

/**
 * The other answers Node gives on its own, without a body, made SPEC section 11 JSON: an Expect
 * header other than 100-continue (417), and CONNECT, which Node would drop without a word (405).
 */
export function answerUnservedRequests(server: Server): void {
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = errorBody('EXPECTATION_FAILED', `Expect: ${String(request.headers.expect).slice(0, 64)} is not supported; only 100-continue is.`);
    response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
  });
  server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    writeAndClose(socket, 405, 'METHOD_NOT_ALLOWED', 'CONNECT is not served here: this is not a proxy.');
  });
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ meta: { timestamp: Date.now(), transactionId: randomUUID() }, error: { code, message, details: [] } });
}

function writeAndClose(socket: Socket, status: number, code: string, message: string): void {
  const body = errorBody(code, message);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

/**
 * Errors of Fastify's router, before any hook runs: a URL whose percent-encoding does not decode
 * (`/%zz`, `/emails/%E0%A4%A`), a path parameter over the router's length limit.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('connection', 'close');
  if (error.code === 'FST_ERR_BAD_URL') {
    return sendError(request, reply, new ApiError(400, 'INVALID_URL', 'The request URL is not valid: a percent-encoded sequence in it does not decode to UTF-8.'));
  }
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendError(request, reply, new ApiError(414, 'URI_TOO_LONG', 'A part of the request URL is longer than this server accepts.'));
  }
  return errorHandler(error, request, reply);
}

/**
 * What Node lets through but a route should not see: an over-long URL that still fitted Node's
 * header limit, and an HTTP/1.1 request without Host (RFC 9112 asks for a 400; Node's own check
 * answers it with an empty body, so it is turned off in server.ts and made here).
 */
export async function refuseMalformedRequests(request: FastifyRequest): Promise<void> {
  if ((request.raw.url ?? '').length > MAX_URL_LENGTH) {
    throw new ApiError(414, 'URI_TOO_LONG', `The request URL is longer than ${MAX_URL_LENGTH} bytes.`, [], { connection: 'close' });
  }
  if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
    throw new ApiError(400, 'BAD_REQUEST', 'An HTTP/1.1 request needs a Host header.', [], { connection: 'close' });
  }
}
