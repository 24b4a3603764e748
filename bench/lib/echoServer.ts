/**
 * The reference the ingest and tracking benchmarks divide by: a bare Fastify server that does what every
 * JSON API does for POST /emails (parse the JSON body, build a response of the same shape,
 * serialise it) and nothing else: no authentication, validation, rendering or storage.
 *
 * Run as a child process: `node --import tsx bench/lib/echoServer.ts PORT`.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: echoServer.ts PORT');
  process.exit(2);
}

const app = Fastify({ logger: false });
let counter = 0;

app.get('/readyz', async () => ({ status: 'ready' }));
app.post('/emails', async (request) => {
  const body = request.body as Record<string, unknown>;
  return {
    meta: { timestamp: Date.now(), transactionId: randomUUID() },
    data: { id: (++counter).toString(36).padStart(22, '0'), ...body, userName: 'default', operator: 'default', status: 'QUEUED' },
  };
});

// The tracking benchmark's reference: what any pixel or redirect server does per hit.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
app.get('/t/o/:messageId/:file', async (_request, reply) => reply.header('cache-control', 'no-store').type('image/gif').send(PIXEL));
app.get<{ Params: { url: string } }>('/t/c/:messageId/:index/:url/:signature', async (request, reply) =>
  reply.header('cache-control', 'no-store').redirect(Buffer.from(request.params.url, 'base64url').toString('utf8'), 302),
);

await app.listen({ host: '127.0.0.1', port });
const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
