/**
 * The reference the ingest, tracking and console benchmarks divide by: a bare Fastify server that does what every
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

// The console benchmark's reference: a page of messages in GET /emails's shape, built and
// serialised per request, with no authentication and no database.
const TEXT = 'Hello user1234,\n\nThank you for your order ord-1234567. We have received your payment of 42.00 EUR and will send the parcel within two working days. You can follow it at https://shop.example/orders/ord-1234567\n\nQuestions? Reply to this message.\n\nShop Example';
app.get<{ Querystring: { limit?: string } }>('/emails', async (request) => {
  const limit = Math.min(100, Number(request.query.limit ?? 20) || 20);
  const now = Date.now();
  const data = Array.from({ length: limit }, (_, index) => {
    const at = new Date(now - index * 1000).toISOString();
    return {
      id: (now - index).toString(32).padStart(22, '0'), to: `user${index}@gmail.com`, from: 'receipts@shop.example', userName: 'default', operator: 'default',
      text: TEXT, status: 'DELIVERED', subject: `Your order ord-${now - index}`, externalId: `ord-${now - index}`, clientId: null, callbacks: [], alias: null,
      campaignId: null, tags: ['receipt'], cc: [], bcc: [], type: 'transactional', submittedBy: 'http', sendAt: null, createdAt: at, updatedAt: at,
    };
  });
  return { meta: { timestamp: now, transactionId: randomUUID(), pagination: { limit, nextCursor: data.at(-1)?.id ?? null } }, data };
});

await app.listen({ host: '127.0.0.1', port });
const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
