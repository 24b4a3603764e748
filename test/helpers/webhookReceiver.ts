import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: { id: number; type: string; messageId: string | null; [key: string]: unknown };
  /** What the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:port */
  base: string;
  port: number;
  received: Received[];
  /** Answers a request with this status (default 204); may wait first. */
  answer: (request: { path: string; count: number }) => number | Promise<number>;
  /** Stops listening (connections are refused) until up() listens again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real HTTP server standing in for an account's webhook receiver: it records every request
 * (headers and raw body, for signature checks by an independent implementation) and answers
 * what the test says, and can go down and come back on the same port.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  let count = 0;
  const receiver: WebhookReceiver = {
    base: '',
    port: 0,
    received,
    answer: () => 204,
    down: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
    up: () => listen(receiver.port),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '/';
      const status = await receiver.answer({ path, count: ++count });
      let json: Received['json'];
      try {
        json = JSON.parse(body) as Received['json'];
      } catch {
        json = { id: -1, type: 'INVALID', messageId: null };
      }
      received.push({ path, headers: request.headers as Record<string, string>, body, json, status });
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(status >= 300 ? `nope ${status}` : 'ok');
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  receiver.port = (server.address() as AddressInfo).port;
  receiver.base = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}
