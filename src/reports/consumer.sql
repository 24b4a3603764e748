-- name: tryLock
-- One consumer at a time (any process): the unique counts below read report_firsts and then
-- write it, which is exact only when no other consumer writes it in between. Concurrent
-- consumers would also queue on the same rollup rows (the account's current hour), so nothing
-- is lost by taking turns. Taken in its own statement, before the fold's snapshot.
-- JIT off for the fold: PostgreSQL's default (jit=on) compiles a statement of this estimated cost
-- on every execution, which costs more than the fold itself (hundreds of ms per batch).
-- Memory for the fold's sorts: with the default 4 MB a batch's sort spilled to disk.
SELECT pg_try_advisory_xact_lock($1, $2) AS locked, set_config('jit', 'off', true) AS jit, set_config('work_mem', '64MB', true) AS work_mem;

-- name: pending
SELECT EXISTS (SELECT 1 FROM report_backlog) AS pending;

-- name: fold
-- Counts about $1 events of the backlog (its oldest rows, until they hold $1 events; at least
-- one row): deletes them from it and adds them to the rollups in this one statement (one
-- transaction with the lock above), so an event is counted exactly once, whatever process dies
-- when. Every look-up from the batch into a large table is one index look-up per row
-- (LATERAL ... OFFSET 0, as migration 016 explains).
WITH taken AS (
  -- `= ANY (ARRAY(...))`: as a join, the planner hashed the batch and scanned the whole backlog.
  -- No FOR UPDATE: the advisory lock already makes consumers take turns, and locking the rows
  -- looked at (up to $1, most of them not taken) wrote every one of them; the DELETE locks what
  -- it takes.
  DELETE FROM report_backlog
  WHERE id = ANY (ARRAY(
    SELECT id FROM (
      SELECT id, sum(events) OVER (ORDER BY id) - events AS before
      FROM (SELECT id, events FROM report_backlog ORDER BY id LIMIT $1) r
    ) w
    WHERE before < $1))
  RETURNING event_ids
), ids AS (
  SELECT unnest(event_ids) AS event_id FROM taken
), ev AS (
  SELECT e.id, e.type, e.at, e.account_id, e.message_id, e.machine, e.hard, e.url,
         m.campaign_id, m.external_id, m.client_id, m.tags, m.domain
  FROM ids t
  CROSS JOIN LATERAL (
    SELECT x.id, x.type, x.created_at AS at, x.account_id, x.message_id,
           COALESCE(x.details->'machine' = 'true'::jsonb, false) AS machine,
           COALESCE(x.details->>'bounceClass' = 'HARD', false) AS hard,
           x.details->>'url' AS url
    FROM message_events x WHERE x.id = t.event_id OFFSET 0
  ) e
  CROSS JOIN LATERAL (
    SELECT m.campaign_id, m.external_id, m.client_id,
           CASE WHEN jsonb_typeof(m.tags) = 'array' THEN m.tags ELSE '[]'::jsonb END AS tags,
           COALESCE(lower(substring(m.to_address FROM '@([^@]*)$')), '') AS domain
    FROM messages m WHERE m.id = e.message_id OFFSET 0
  ) m
), candidates AS (
  -- The earliest open and click by a person of each message in this batch...
  SELECT DISTINCT ON (message_id, kind) message_id, kind, id, at
  FROM (SELECT message_id, CASE type WHEN 'OPENED' THEN 'open' ELSE 'click' END AS kind, id, at
        FROM ev WHERE type IN ('OPENED', 'CLICKED') AND NOT machine) c
  ORDER BY message_id, kind, id
), firsts AS (
  -- ...is the message's first unless an earlier one was counted before. One counted before but
  -- later than this one (its transaction committed first) gives its place up: its hour loses
  -- the unique count that this one's hour gains.
  SELECT c.message_id, c.kind, c.id, c.at, f.event_id AS replaced_id, f.at AS replaced_at
  FROM candidates c
  LEFT JOIN LATERAL (SELECT f.event_id, f.at FROM report_firsts f WHERE f.message_id = c.message_id AND f.kind = c.kind OFFSET 0) f ON true
  WHERE f.event_id IS NULL OR f.event_id > c.id
), firsts_written AS (
  INSERT INTO report_firsts AS f (message_id, kind, event_id, at)
  SELECT message_id, kind, id, at FROM firsts
  ON CONFLICT (message_id, kind) DO UPDATE SET event_id = EXCLUDED.event_id, at = EXCLUDED.at
), link_candidates AS (
  -- Per link of a campaign, the unique count is per message and URL; no hour, so no order.
  SELECT DISTINCT ON (message_id, url) message_id, url, id, at
  FROM ev WHERE type = 'CLICKED' AND NOT machine AND campaign_id IS NOT NULL AND url IS NOT NULL
  ORDER BY message_id, url, id
), link_firsts AS (
  INSERT INTO report_firsts (message_id, kind, event_id, at)
  SELECT message_id, 'link:' || md5(url), id, at FROM link_candidates
  ON CONFLICT (message_id, kind) DO NOTHING
  RETURNING message_id, kind
), link_rows AS (
  SELECT account_id, campaign_id, url, (NOT machine)::int AS clicked, 0 AS clicked_unique, machine::int AS clicked_machine
  FROM ev WHERE type = 'CLICKED' AND campaign_id IS NOT NULL AND url IS NOT NULL
  UNION ALL
  SELECT e.account_id, e.campaign_id, c.url, 0, 1, 0
  FROM link_firsts l
  JOIN link_candidates c ON c.message_id = l.message_id AND l.kind = 'link:' || md5(c.url)
  JOIN ev e ON e.id = c.id
), links AS (
  INSERT INTO report_links AS l (account_id, campaign_id, url_hash, url, clicked, clicked_unique, clicked_machine)
  SELECT account_id, campaign_id, md5(url), min(url), sum(clicked), sum(clicked_unique), sum(clicked_machine)
  FROM link_rows
  GROUP BY account_id, campaign_id, md5(url)
  ORDER BY account_id, campaign_id, md5(url)
  ON CONFLICT (account_id, campaign_id, url_hash) DO UPDATE SET
    clicked = l.clicked + EXCLUDED.clicked,
    clicked_unique = l.clicked_unique + EXCLUDED.clicked_unique,
    clicked_machine = l.clicked_machine + EXCLUDED.clicked_machine
), deltas AS (
  -- What each event adds (docs/REPORTS.md defines every counter)...
  SELECT account_id, campaign_id, external_id, client_id, tags, domain, at,
         (type IN ('QUEUED', 'SCHEDULED'))::int AS requested,
         (type = 'SENT')::int AS sent,
         (type = 'DELIVERED')::int AS delivered,
         (type = 'DEFERRED')::int AS deferred,
         (type = 'BOUNCED' AND hard)::int AS bounced_hard,
         (type = 'BOUNCED' AND NOT hard)::int AS bounced_soft,
         (type = 'REJECTED')::int AS rejected,
         (type = 'FAILED')::int AS failed,
         (type = 'COMPLAINED')::int AS complained,
         (type = 'UNSUBSCRIBED')::int AS unsubscribed,
         (type = 'OPENED' AND NOT machine)::int AS opened,
         0 AS opened_unique,
         (type = 'OPENED' AND machine)::int AS opened_machine,
         (type = 'CLICKED' AND NOT machine)::int AS clicked,
         0 AS clicked_unique,
         (type = 'CLICKED' AND machine)::int AS clicked_machine
  FROM ev
  WHERE type IN ('QUEUED', 'SCHEDULED', 'SENT', 'DELIVERED', 'DEFERRED', 'BOUNCED', 'REJECTED', 'FAILED', 'COMPLAINED', 'UNSUBSCRIBED', 'OPENED', 'CLICKED')
  UNION ALL
  -- ...and the unique counts: one in the hour of each new first, minus one where it was before.
  SELECT e.account_id, e.campaign_id, e.external_id, e.client_id, e.tags, e.domain, u.at,
         0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, u.sign * (f.kind = 'open')::int, 0, 0, u.sign * (f.kind = 'click')::int, 0
  FROM firsts f
  JOIN ev e ON e.id = f.id
  CROSS JOIN LATERAL (SELECT 1 AS sign, f.at UNION ALL SELECT -1, f.replaced_at WHERE f.replaced_id IS NOT NULL) u
), timed AS (
  SELECT d.*, date_trunc('hour', d.at, 'UTC') AS hour, date_trunc('day', d.at, 'UTC') AS day FROM deltas d
), grouped AS (
  -- Every dimension's rows in one pass (grouping sets): each key's total over all time (span
  -- 't'), its UTC days, and its hours where a time series reads them (the account, campaigns,
  -- tags). GROUPING() numbers the set of a row (a bit per column, 1 when the column is not in
  -- the set); `sets` below names it.
  SELECT account_id, campaign_id, external_id, client_id, domain, hour, day,
         GROUPING(campaign_id, external_id, client_id, domain, hour, day) AS g, NULL::text AS tag,
         sum(requested) AS requested, sum(sent) AS sent, sum(delivered) AS delivered, sum(deferred) AS deferred,
         sum(bounced_hard) AS bounced_hard, sum(bounced_soft) AS bounced_soft, sum(rejected) AS rejected, sum(failed) AS failed,
         sum(complained) AS complained, sum(unsubscribed) AS unsubscribed, sum(opened) AS opened, sum(opened_unique) AS opened_unique,
         sum(opened_machine) AS opened_machine, sum(clicked) AS clicked, sum(clicked_unique) AS clicked_unique, sum(clicked_machine) AS clicked_machine
  FROM timed
  GROUP BY account_id, GROUPING SETS (
    (), (day), (hour), (campaign_id), (campaign_id, day), (campaign_id, hour), (external_id), (external_id, day),
    (client_id), (client_id, day), (domain), (domain, day), (campaign_id, domain), (campaign_id, domain, day))
  UNION ALL
  -- The tag dimensions: a row per distinct tag of each message.
  SELECT account_id, campaign_id, NULL, NULL, domain, hour, day,
         64 + GROUPING(campaign_id, domain, hour, day), tag,
         sum(requested) AS requested, sum(sent) AS sent, sum(delivered) AS delivered, sum(deferred) AS deferred,
         sum(bounced_hard) AS bounced_hard, sum(bounced_soft) AS bounced_soft, sum(rejected) AS rejected, sum(failed) AS failed,
         sum(complained) AS complained, sum(unsubscribed) AS unsubscribed, sum(opened) AS opened, sum(opened_unique) AS opened_unique,
         sum(opened_machine) AS opened_machine, sum(clicked) AS clicked, sum(clicked_unique) AS clicked_unique, sum(clicked_machine) AS clicked_machine
  FROM timed d CROSS JOIN LATERAL (SELECT DISTINCT value AS tag FROM jsonb_array_elements_text(d.tags)) t
  GROUP BY account_id, tag, GROUPING SETS ((), (day), (hour), (campaign_id), (campaign_id, day), (campaign_id, hour), (domain), (domain, day))
), sets (g, dim, span) AS (
  VALUES (63, 'a', 't'), (62, 'a', 'd'), (61, 'a', 'h'), (31, 'c', 't'), (30, 'c', 'd'), (29, 'c', 'h'),
         (47, 'e', 't'), (46, 'e', 'd'), (55, 'i', 't'), (54, 'i', 'd'), (59, 'd', 't'), (58, 'd', 'd'), (27, 'cd', 't'), (26, 'cd', 'd'),
         (79, 't', 't'), (78, 't', 'd'), (77, 't', 'h'), (71, 'ct', 't'), (70, 'ct', 'd'), (69, 'ct', 'h'), (75, 'td', 't'), (74, 'td', 'd')
), keyed AS (
  SELECT s.dim, k.key, k.sub, s.span, COALESCE(grouped.hour, grouped.day, timestamptz '1970-01-01 00:00:00+00') AS bucket, grouped.*
  FROM grouped
  JOIN sets s ON s.g = grouped.g
  CROSS JOIN LATERAL (SELECT CASE s.dim WHEN 'a' THEN '' WHEN 'c' THEN campaign_id WHEN 'e' THEN external_id WHEN 'i' THEN client_id
      WHEN 'd' THEN domain WHEN 'cd' THEN campaign_id WHEN 't' THEN tag WHEN 'ct' THEN campaign_id WHEN 'td' THEN tag END AS key,
      CASE s.dim WHEN 'cd' THEN domain WHEN 'ct' THEN tag WHEN 'td' THEN domain ELSE '' END AS sub) k
  -- A group of messages without the key (no campaign, no externalId...) is no row.
  WHERE k.key IS NOT NULL
), counted AS (
  -- In key order: a statement that waited for the lock never meets another in a lock cycle.
  INSERT INTO report_counts AS r (account_id, dim, key, sub, span, bucket, requested, sent, delivered, deferred,
    bounced_hard, bounced_soft, rejected, failed, complained, unsubscribed, opened, opened_unique, opened_machine,
    clicked, clicked_unique, clicked_machine)
  SELECT account_id, dim, key, sub, span, bucket, requested, sent, delivered, deferred, bounced_hard, bounced_soft, rejected,
         failed, complained, unsubscribed, opened, opened_unique, opened_machine, clicked, clicked_unique, clicked_machine
  FROM keyed
  ORDER BY account_id, dim, span, key, sub, bucket
  ON CONFLICT (account_id, dim, span, key, sub, bucket) DO UPDATE SET
    requested = r.requested + EXCLUDED.requested,
    sent = r.sent + EXCLUDED.sent,
    delivered = r.delivered + EXCLUDED.delivered,
    deferred = r.deferred + EXCLUDED.deferred,
    bounced_hard = r.bounced_hard + EXCLUDED.bounced_hard,
    bounced_soft = r.bounced_soft + EXCLUDED.bounced_soft,
    rejected = r.rejected + EXCLUDED.rejected,
    failed = r.failed + EXCLUDED.failed,
    complained = r.complained + EXCLUDED.complained,
    unsubscribed = r.unsubscribed + EXCLUDED.unsubscribed,
    opened = r.opened + EXCLUDED.opened,
    opened_unique = r.opened_unique + EXCLUDED.opened_unique,
    opened_machine = r.opened_machine + EXCLUDED.opened_machine,
    clicked = r.clicked + EXCLUDED.clicked,
    clicked_unique = r.clicked_unique + EXCLUDED.clicked_unique,
    clicked_machine = r.clicked_machine + EXCLUDED.clicked_machine
)
SELECT (SELECT count(*) FROM ids)::int AS taken;
