import assert from 'node:assert/strict';
import type { Database, Queryable } from '../../src/db/database.js';

/**
 * The reports' rollups recounted from the event log with plain aggregates, written apart from the
 * consumer's statement (src/reports/consumer.sql): each dimension its own GROUP BY over every
 * event, unique opens and clicks as the lowest event id of each message's human opens (clicks),
 * buckets from epoch arithmetic. `assertRollupsMatchRecount` compares every row.
 */
const COUNTERS = `
  count(*) FILTER (WHERE type IN ('QUEUED', 'SCHEDULED')) AS requested,
  count(*) FILTER (WHERE type = 'SENT') AS sent,
  count(*) FILTER (WHERE type = 'DELIVERED') AS delivered,
  count(*) FILTER (WHERE type = 'DEFERRED') AS deferred,
  count(*) FILTER (WHERE type = 'BOUNCED' AND details->>'bounceClass' = 'HARD') AS bounced_hard,
  count(*) FILTER (WHERE type = 'BOUNCED' AND details->>'bounceClass' IS DISTINCT FROM 'HARD') AS bounced_soft,
  count(*) FILTER (WHERE type = 'REJECTED') AS rejected,
  count(*) FILTER (WHERE type = 'FAILED') AS failed,
  count(*) FILTER (WHERE type = 'COMPLAINED') AS complained,
  count(*) FILTER (WHERE type = 'UNSUBSCRIBED') AS unsubscribed,
  count(*) FILTER (WHERE type = 'OPENED' AND NOT machine) AS opened,
  count(*) FILTER (WHERE type = 'OPENED' AND NOT machine AND first) AS opened_unique,
  count(*) FILTER (WHERE type = 'OPENED' AND machine) AS opened_machine,
  count(*) FILTER (WHERE type = 'CLICKED' AND NOT machine) AS clicked,
  count(*) FILTER (WHERE type = 'CLICKED' AND NOT machine AND first) AS clicked_unique,
  count(*) FILTER (WHERE type = 'CLICKED' AND machine) AS clicked_machine`;

const COLUMNS = ['requested', 'sent', 'delivered', 'deferred', 'bounced_hard', 'bounced_soft', 'rejected', 'failed', 'complained', 'unsubscribed',
  'opened', 'opened_unique', 'opened_machine', 'clicked', 'clicked_unique', 'clicked_machine'];

/** Each dimension: its key and second key, the rows it reads (one per tag for tag dimensions), and its buckets. */
const DIMENSIONS: [string, string, string, string, string[]][] = [
  ['a', "''", "''", 'ev', ['total', 'hour', 'day']],
  ['c', 'campaign_id', "''", 'ev WHERE campaign_id IS NOT NULL', ['total', 'hour', 'day']],
  ['e', 'external_id', "''", 'ev WHERE external_id IS NOT NULL', ['total', 'day']],
  ['i', 'client_id', "''", 'ev WHERE client_id IS NOT NULL', ['total', 'day']],
  ['d', 'domain', "''", 'ev', ['total', 'day']],
  ['cd', 'campaign_id', 'domain', 'ev WHERE campaign_id IS NOT NULL', ['total', 'day']],
  ['t', 'tag', "''", 'tagged', ['total', 'hour', 'day']],
  ['td', 'tag', 'domain', 'tagged', ['total', 'day']],
  ['ct', 'campaign_id', 'tag', 'tagged WHERE campaign_id IS NOT NULL', ['total', 'hour', 'day']],
];

const RECOUNT = `
WITH firsts AS (
  SELECT min(id) AS id FROM message_events
  WHERE type IN ('OPENED', 'CLICKED') AND (details->>'machine') IS DISTINCT FROM 'true'
  GROUP BY message_id, type
), ev AS (
  SELECT e.account_id, e.type, e.details, m.campaign_id, m.external_id, m.client_id, m.tags,
         lower(split_part(m.to_address, '@', 2)) AS domain,
         COALESCE((e.details->>'machine') = 'true', false) AS machine,
         f.id IS NOT NULL AS first,
         to_timestamp(floor(extract(epoch FROM e.created_at) / 3600) * 3600) AS hour,
         to_timestamp(floor(extract(epoch FROM e.created_at) / 86400) * 86400) AS day,
         to_timestamp(0) AS total
  FROM message_events e JOIN messages m ON m.id = e.message_id LEFT JOIN firsts f ON f.id = e.id
), tagged AS (
  SELECT ev.*, t.tag FROM ev, LATERAL (SELECT DISTINCT jsonb_array_elements_text(ev.tags) AS tag) t
)
${DIMENSIONS.flatMap(([dim, key, sub, from, buckets]) => buckets.map((bucket) => `
  SELECT account_id, '${dim}' AS dim, ${key} AS key, ${sub} AS sub, '${bucket[0]}' AS span, ${bucket} AS bucket, ${COUNTERS}
  FROM ${from} GROUP BY 1, 2, 3, 4, 5, 6`)).join('\n  UNION ALL')}`;

const LINKS_RECOUNT = `
SELECT e.account_id, m.campaign_id, e.details->>'url' AS url,
       count(*) FILTER (WHERE (e.details->>'machine') IS DISTINCT FROM 'true') AS clicked,
       count(DISTINCT e.message_id) FILTER (WHERE (e.details->>'machine') IS DISTINCT FROM 'true') AS clicked_unique,
       count(*) FILTER (WHERE (e.details->>'machine') = 'true') AS clicked_machine
FROM message_events e JOIN messages m ON m.id = e.message_id
WHERE e.type = 'CLICKED' AND m.campaign_id IS NOT NULL AND e.details ? 'url'
GROUP BY 1, 2, 3`;

type Keyed = Record<string, unknown>;

function lines(rows: Keyed[], keys: string[], counters: string[]): string[] {
  return rows
    .filter((row) => counters.some((column) => Number(row[column]) !== 0))
    .map((row) => [...keys.map((key) => (row[key] instanceof Date ? (row[key] as Date).toISOString() : String(row[key]))), ...counters.map((column) => `${column}=${Number(row[column])}`)].join(' | '))
    .sort();
}

/** Every rollup row (and per-link row) equals its recount from the event log; answers how many rows were compared. */
export async function assertRollupsMatchRecount(db: Database): Promise<{ rows: number; links: number }> {
  // PostgreSQL's JIT compiles a statement this large for seconds; the recount is small.
  return db.transaction(async (tx) => {
    await tx.query("SELECT set_config('jit', 'off', true)");
    return compare(tx);
  });
}

async function compare(db: Queryable): Promise<{ rows: number; links: number }> {
  const keys = ['account_id', 'dim', 'key', 'sub', 'span', 'bucket'];
  const expected = lines(await db.query(RECOUNT), keys, COLUMNS);
  const actual = lines(await db.query(`SELECT * FROM report_counts`), keys, COLUMNS);
  assert.deepEqual(actual, expected, 'report_counts equals the recount from message_events');
  const linkKeys = ['account_id', 'campaign_id', 'url'];
  const linkCounters = ['clicked', 'clicked_unique', 'clicked_machine'];
  const expectedLinks = lines(await db.query(LINKS_RECOUNT), linkKeys, linkCounters);
  const actualLinks = lines(await db.query('SELECT * FROM report_links'), linkKeys, linkCounters);
  assert.deepEqual(actualLinks, expectedLinks, 'report_links equals the recount from message_events');
  return { rows: actual.length, links: actualLinks.length };
}
