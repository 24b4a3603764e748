-- Issue 19: sandbox deliveries and Mailroom's own mail count toward no account's reputation
-- (the bounce and complaint rates' volume). The function is migration 016's with one condition
-- more in its reputation_hours statement.
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
    -- Not the account's traffic (issue 19): what the sandbox caught never left the machine, and
    -- Mailroom's own mail (sender confirmations) is the installation's, not the account's.
    AND details->>'transport' IS DISTINCT FROM 'sandbox' AND details->>'system' IS DISTINCT FROM 'true'
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (account_id, hour, shard) DO UPDATE SET
    outcomes = h.outcomes + EXCLUDED.outcomes,
    hard_bounces = h.hard_bounces + EXCLUDED.hard_bounces,
    complaints = h.complaints + EXCLUDED.complaints;
  RETURN NULL;
END
$$;
