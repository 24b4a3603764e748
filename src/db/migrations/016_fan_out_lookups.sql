-- The event triggers look up each new event's message (its callbacks, its To) by primary key.
-- Written as joins, the planner saw a transition table it has no statistics for (it assumes
-- hundreds of rows) beside a table of tens of thousands, and chose a hash join over a sequential
-- scan of the whole table: every statement that wrote events read all of message_callbacks, so
-- on PGlite accepting mail with callbacks got slower with every message ever accepted (2.9 ms a
-- statement of 22 at the start, 18.6 ms after 66,000). A LATERAL subquery with OFFSET 0 is never
-- flattened into a join: it is one index look-up per new event, whatever the estimates.
CREATE OR REPLACE FUNCTION mailroom_fan_out_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Most statements have nothing to fan out (no webhook in the account, no callback on the
  -- message): they pay two small look-ups, not the statement below (about 1.5 ms on PGlite).
  IF NOT EXISTS (
    SELECT 1 FROM webhooks w
    WHERE w.enabled AND w.deleted_at IS NULL AND w.account_id IN (SELECT account_id FROM new_events)
  ) AND NOT EXISTS (
    SELECT 1 FROM new_events e
    CROSS JOIN LATERAL (SELECT 1 FROM message_callbacks c WHERE c.message_id = e.message_id OFFSET 0) c
  ) THEN
    RETURN NULL;
  END IF;
  WITH targets AS (
    SELECT e.id AS event_id, e.account_id, e.created_at, 'webhook:' || w.id AS lane, w.id AS webhook_id, NULL::text AS url
    FROM new_events e
    JOIN webhooks w ON w.account_id = e.account_id AND w.enabled AND w.deleted_at IS NULL
      AND (w.event_types = '[]'::jsonb OR w.event_types ? e.type)
    WHERE e.type <> 'WEBHOOK_TEST'
    UNION ALL
    SELECT e.id, e.account_id, e.created_at, 'callback:' || e.account_id || ':' || u.url, NULL, u.url
    FROM new_events e
    CROSS JOIN LATERAL (SELECT c.urls FROM message_callbacks c WHERE c.message_id = e.message_id OFFSET 0) c
    CROSS JOIN LATERAL (SELECT value AS url FROM jsonb_array_elements_text(c.urls)) u
  ), lanes AS (
    -- In lane order: concurrent statements that touch the same lanes lock them in the same
    -- order (as recordAttempts does), so they queue behind each other instead of deadlocking.
    INSERT INTO webhook_lanes AS l (lane, account_id, webhook_id, next_due_at)
    SELECT lane, min(account_id), min(webhook_id), min(created_at) FROM targets GROUP BY lane ORDER BY lane
    ON CONFLICT (lane) DO UPDATE SET next_due_at = COALESCE(l.next_due_at, EXCLUDED.next_due_at), version = l.version + 1
  )
  INSERT INTO webhook_deliveries (account_id, lane, webhook_id, url, event_id, due_at, created_at)
  SELECT account_id, lane, webhook_id, url, event_id, created_at, created_at FROM targets;
  RETURN NULL;
END
$$;

-- The same for the feedback trigger's look-up of each bounced or complained message's To.
CREATE OR REPLACE FUNCTION mailroom_feedback_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Acceptance statements write only QUEUED/SCHEDULED/REJECTED events: one cheap look, no work.
  IF NOT EXISTS (SELECT 1 FROM new_events WHERE type IN ('DELIVERED', 'SENT', 'BOUNCED', 'COMPLAINED')) THEN
    RETURN NULL;
  END IF;

  -- The addresses to suppress: each HARD recipient of a multi-recipient result (a Cc can
  -- bounce while the To is delivered), else the event's own recipient (details.recipient, set
  -- by the inbound MX) or the message's To. Most result batches are deliveries of one
  -- recipient each: they skip this statement and its look-up of every message.
  IF EXISTS (SELECT 1 FROM new_events WHERE type IN ('BOUNCED', 'COMPLAINED') OR details ? 'recipients') THEN
    INSERT INTO suppressions (account_id, address, reason, message_id, created_at)
    SELECT DISTINCT ON (e.account_id, lower(a.address)) e.account_id, lower(a.address),
           CASE WHEN e.type = 'COMPLAINED' THEN 'COMPLAINT' ELSE 'HARD_BOUNCE' END, e.message_id, e.created_at
    FROM (SELECT * FROM new_events WHERE type IN ('BOUNCED', 'COMPLAINED') OR details ? 'recipients') e
    CROSS JOIN LATERAL (SELECT m.to_address FROM messages m WHERE m.id = e.message_id OFFSET 0) m
    CROSS JOIN LATERAL (
      SELECT r->>'address' AS address FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(e.details->'recipients') = 'array' THEN e.details->'recipients' ELSE '[]'::jsonb END) r
      WHERE r->>'bounceClass' = 'HARD'
      UNION ALL
      SELECT COALESCE(e.details->>'recipient', m.to_address)
      WHERE (e.type = 'COMPLAINED' OR (e.type = 'BOUNCED' AND e.details->>'bounceClass' = 'HARD'))
        AND jsonb_typeof(e.details->'recipients') IS DISTINCT FROM 'array'
    ) a
    WHERE a.address IS NOT NULL
    ORDER BY e.account_id, lower(a.address)
    ON CONFLICT (account_id, address) DO NOTHING;
  END IF;

  INSERT INTO reputation_hours AS h (account_id, hour, shard, outcomes, hard_bounces, complaints)
  SELECT account_id, date_trunc('hour', created_at), pg_backend_pid() % 16,
         count(*) FILTER (WHERE type IN ('DELIVERED', 'SENT') OR (type = 'BOUNCED' AND details->>'async' IS NULL)),
         count(*) FILTER (WHERE type = 'BOUNCED' AND details->>'bounceClass' = 'HARD'),
         count(*) FILTER (WHERE type = 'COMPLAINED')
  FROM new_events
  WHERE type IN ('DELIVERED', 'SENT', 'BOUNCED', 'COMPLAINED') AND message_id IS NOT NULL
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (account_id, hour, shard) DO UPDATE SET
    outcomes = h.outcomes + EXCLUDED.outcomes,
    hard_bounces = h.hard_bounces + EXCLUDED.hard_bounces,
    complaints = h.complaints + EXCLUDED.complaints;
  RETURN NULL;
END
$$;
