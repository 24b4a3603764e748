import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../shared/log.js';
import type { Metrics } from '../shared/metrics.js';
import { METRICS_CONTENT_TYPE } from './routes/metrics.js';

export interface MetricsServer {
  /** http://host:port of the listener. */
  url: string;
  close(): Promise<void>;
}

/**
 * The Prometheus listener (MAILROOM_METRICS_PORT, on MAILROOM_METRICS_HOST, 127.0.0.1 unless
 * set): GET /metrics and nothing else, without a key, for a scraper on a network the operator
 * chooses, apart from the API's. It runs with any role, since each process counts its own work.
 */
export async function startMetricsServer(options: { host: string; port: number }, metrics: Metrics, log: Logger): Promise<MetricsServer> {
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (request, response) => {
    void answer(request, response, metrics, log);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function answer(request: IncomingMessage, response: ServerResponse, metrics: Metrics, log: Logger): Promise<void> {
  const path = (request.url ?? '').split('?')[0];
  if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
    return error(response, 404, 'NOT_FOUND', 'This listener serves GET /metrics only.');
  }
  try {
    const text = await metrics.render();
    response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    response.end(request.method === 'HEAD' ? undefined : text);
  } catch (failure) {
    log.error({ err: failure }, 'metrics could not be read');
    error(response, 503, 'SERVICE_UNAVAILABLE', 'The metrics could not be read (the database did not answer); retry shortly.');
  }
}

function error(response: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ meta: { timestamp: Date.now(), transactionId: randomUUID() }, error: { code, message, details: [] } });
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
