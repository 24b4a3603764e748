import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { cancelMessage, queueSummary, retryNow } from '../../queue/admin.js';
import type { QueueNotifier } from '../../queue/notifier.js';
import { asciiDomain } from '../../sending/addresses.js';
import { oneLineProblem } from '../../shared/characters.js';
import type { Clock } from '../../shared/clock.js';
import { validationError } from '../../shared/errors.js';
import { principalOf } from '../auth.js';
import { metaOf } from '../errors.js';
import { ListOf, One, SERIALIZED_AS_JSON, Timestamp } from '../schemas.js';
import { noBodyIsEmptyObject } from '../jsonBodies.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const RetryBody = Type.Object(
  {
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'only emails to this recipient domain' })),
    destination: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'only this destination, as GET /queue names it' })),
  },
  { additionalProperties: false },
);

const Destination = Type.Object({
  destination: Type.String({ description: 'the MX host set (or relay) of the last attempt; before any attempt, the recipient domain' }),
  attempted: Type.Boolean(),
  domains: Type.Array(Type.String(), { description: 'the recipient domains waiting for it' }),
  queued: Type.Integer(),
  deferred: Type.Integer(),
  scheduled: Type.Integer(),
  inDelivery: Type.Integer(),
  oldestQueuedAt: Type.Union([Timestamp, Type.Null()]),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()]),
});

/** Queue administration: what waits per destination, retry now, cancel. */
export function queueRoutes(app: FastifyInstance, deps: { db: Database; clock: Clock; notifier: QueueNotifier }): void {
  app.get('/queue', { schema: { summary: 'Waiting emails per destination (MX host set once attempted, else recipient domain)', tags: ['queue'], response: { 200: ListOf(Destination) } }, ...SERIALIZED_AS_JSON }, async (request) => ({
    meta: metaOf(request),
    data: await queueSummary(deps.db, principalOf(request).accountId),
  }));

  app.post<{ Body: Static<typeof RetryBody> }>(
    '/queue/retry',
    {
      // The body is optional: no body (all waiting emails) is {}.
      preValidation: noBodyIsEmptyObject,
      schema: { summary: 'Retry waiting emails now (all, one recipient domain, or one destination)', tags: ['queue'], body: RetryBody, response: { 200: One(Type.Object({ retried: Type.Integer({ description: 'emails made due now' }) })) } },
      ...SERIALIZED_AS_JSON,
    },
    async (request) => {
      const { domain, destination } = request.body;
      const ascii = domain === undefined ? undefined : asciiDomain(domain.trim());
      if (ascii === null) throw validationError([{ field: 'domain', message: 'is not a domain name' }], `${JSON.stringify(domain)} is not a domain name.`);
      const destinationProblem = oneLineProblem(destination);
      if (destinationProblem) throw validationError([{ field: 'destination', message: destinationProblem }], `The destination ${destinationProblem}.`);
      const count = await retryNow(deps.db, principalOf(request).accountId, deps.clock.now(), { domain: ascii, destination });
      if (count > 0) deps.notifier.poke();
      return { meta: metaOf(request), data: { retried: count } };
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/emails/:id/retry',
    { schema: { summary: 'Retry one waiting email now', tags: ['queue'], params: IdParams, response: { 200: One(Type.Object({ id: Type.String(), retried: Type.Integer({ description: '1 when it was waiting, else 0' }) })) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const count = await retryNow(deps.db, principalOf(request).accountId, deps.clock.now(), { messageId: request.params.id });
      if (count > 0) deps.notifier.poke();
      return { meta: metaOf(request), data: { id: request.params.id, retried: count } };
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/emails/:id/cancel',
    { schema: { summary: 'Cancel a queued, scheduled or deferred email', tags: ['queue'], params: IdParams, response: { 200: One(Type.Object({ id: Type.String(), status: Type.String({ description: 'REJECTED (its reason: CANCELED)' }) })) } }, ...SERIALIZED_AS_JSON },
    async (request) => {
      const status = await cancelMessage(deps.db, principalOf(request).accountId, request.params.id, deps.clock.now());
      return { meta: metaOf(request), data: { id: request.params.id, status } };
    },
  );
}
