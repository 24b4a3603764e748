import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { EventCursor } from '../../events/stream.js';
import { validationError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { SUBSCRIBABLE_EVENTS } from '../../webhooks/webhooks.js';
import { ID_MAX } from '../../shared/storable.js';
import { principalOf } from '../auth.js';

/** How often an open stream looks for new events (a dashboard's latency, not a delivery's). */
const POLL_MS = 500;
/** A comment line this often keeps proxies and load balancers from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

const StreamQuery = Type.Object({
  types: Type.Optional(Type.String({ description: `comma-separated event types to stream (default all): ${SUBSCRIBABLE_EVENTS.join(', ')}` })),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: ID_MAX, description: 'start after this event id (as the Last-Event-ID header does); default: only new events' })),
});

/**
 * `GET /events/stream`: the account's events as Server-Sent Events (SPEC section 4's event as
 * `data`, its type as `event`, its id as `id`), for dashboards. A client that reconnects sends
 * Last-Event-ID, as browsers' EventSource does, and continues where it stopped. Delivery to
 * systems belongs to webhooks, which retry; a stream is only as durable as its connection.
 */
export function eventRoutes(app: FastifyInstance, deps: { db: Database; log: Logger }): void {
  const open = new Set<() => void>();
  // Streams never go idle: they are ended here, or closing the server would wait for them.
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get<{ Querystring: Static<typeof StreamQuery> }>('/events/stream', {
    schema: {
      summary: "The account's events as Server-Sent Events (text/event-stream)",
      tags: ['events'],
      querystring: StreamQuery,
      response: {
        200: {
          description: 'A stream of Server-Sent Events: each `id: <event id>`, `event: <type>`, `data: <the event as a webhook payload, JSON>`; reconnect with Last-Event-ID to resume',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
      },
    },
  }, async (request, reply) => {
    const types = (request.query.types ?? '').split(',').map((type) => type.trim()).filter(Boolean);
    const unknown = types.filter((type) => !(SUBSCRIBABLE_EVENTS as readonly string[]).includes(type));
    if (unknown.length > 0) throw validationError(unknown.map((type) => ({ field: 'types', message: `unknown event type "${type}"` })));
    const lastEventId = request.headers['last-event-id'];
    const resumeFrom = typeof lastEventId === 'string' && /^\d{1,18}$/.test(lastEventId) ? Number(lastEventId) : request.query.after ?? null;
    const cursor = await EventCursor.open(deps.db, principalOf(request).accountId, resumeFrom, types);

    reply.hijack();
    const socket = reply.raw;
    socket.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    socket.write('retry: 2000\n\n');
    let ended = false;
    let wake: (() => void) | null = null;
    const end = () => {
      if (ended) return;
      ended = true;
      open.delete(end);
      wake?.();
      socket.end();
    };
    open.add(end);
    // The response's close is the client going away (or the server closing it); the request's
    // close, depending on Node's version, can also mean only that its (empty) body was read.
    socket.on('close', end);
    socket.on('error', end);

    let lastWrite = Date.now();
    while (!ended) {
      let batch;
      try {
        batch = await cursor.next();
      } catch (error) {
        deps.log.error({ err: error }, 'event stream: could not read events; ending the stream');
        end();
        break;
      }
      let chunk = '';
      for (const event of batch) chunk += `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
      // A reader slower than the events: wait for it rather than buffer without bound.
      if (chunk !== '' && !socket.write(chunk)) await new Promise<void>((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
      if (batch.length > 0) lastWrite = Date.now();
      else if (Date.now() - lastWrite >= KEEPALIVE_MS) {
        socket.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      if (batch.length === 0 && !ended) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    }
  });
}
