import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';

const sql = sqlFile(new URL('../queue/queue.sql', import.meta.url), ['depthByDestination'] as const);

/**
 * Prometheus metrics of one Mailroom process, served at GET /metrics (src/http/metricsServer.ts,
 * and on the API port with a token). Counters are per process;
 * queue depth and age are read from the database at scrape time, so every process reports the
 * installation's queue (scrape one of them).
 *
 * No label holds customer data: the queue is labelled by destination (an MX host set or the
 * relay; "pending" before a first attempt), never by recipient domain; deliveries by outcome,
 * transport and the reason vocabulary of the reply rules.
 */
export function createMetrics(db: Database) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mailroom_' });
  const accepted = new Counter({ name: 'mailroom_messages_accepted_total', help: 'Messages stored by the send pipeline', registers: [registry] });
  const deliveries = new Counter({
    name: 'mailroom_deliveries_total',
    help: 'Delivery attempts per recipient by outcome (delivered, sent, deferred, bounced, failed) and reply class (bounce reason vocabulary)',
    labelNames: ['outcome', 'transport', 'reason'] as const,
    registers: [registry],
  });
  const deliverySeconds = new Histogram({
    name: 'mailroom_delivery_duration_seconds',
    help: 'Time the transport took to hand a message over',
    labelNames: ['transport'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const dkimSeconds = new Histogram({
    name: 'mailroom_dkim_sign_duration_seconds',
    help: 'Time from the start of DKIM-signing a message until its signatures were ready (waiting for a signing thread included)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const depth = new Gauge({ name: 'mailroom_queue_depth', help: 'Messages waiting, per destination (MX host set or relay; "pending" before a first attempt)', labelNames: ['destination'] as const, registers: [registry] });
  const oldest = new Gauge({
    name: 'mailroom_queue_oldest_age_seconds',
    help: 'Age of the oldest waiting message, per destination',
    labelNames: ['destination'] as const,
    registers: [registry],
  });
  let lastScrape = Promise.resolve();
  const refreshQueue = async () => {
    const rows = await db.query<{ destination: string; depth: number; oldest: Date }>(sql.depthByDestination);
    depth.reset();
    oldest.reset();
    const now = Date.now();
    for (const row of rows) {
      depth.set({ destination: row.destination }, row.depth);
      oldest.set({ destination: row.destination }, Math.max(0, (now - row.oldest.getTime()) / 1000));
    }
  };
  return {
    registry,
    accepted,
    deliveries,
    deliverySeconds,
    dkimSeconds,
    /** The exposition text, with the queue read fresh. */
    async render(): Promise<string> {
      lastScrape = lastScrape.then(refreshQueue, refreshQueue);
      await lastScrape;
      return registry.metrics();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
