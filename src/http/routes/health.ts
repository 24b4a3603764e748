import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { pendingMigrations } from '../../db/migrate.js';

/** Liveness (the process answers) and readiness (the database answers and the schema is current). */
export function healthRoutes(app: FastifyInstance, deps: { db: Database; isShuttingDown: () => boolean }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    if (deps.isShuttingDown()) return reply.status(503).send({ status: 'shutting down' });
    try {
      const pending = await pendingMigrations(deps.db);
      if (pending > 0) return reply.status(503).send({ status: 'migrations pending', pending });
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({ status: 'database unavailable' });
    }
  });
}
