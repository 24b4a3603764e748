-- Bounces, complaints, the suppression list and account reputation (SPEC section 7).

-- Why an account is suspended, and where its reputation window starts: reinstating an account
-- starts a new window, or the bounces that suspended it would suspend it again at once.
ALTER TABLE accounts ADD COLUMN suspended_reason text;
ALTER TABLE accounts ADD COLUMN suspended_at timestamptz;
ALTER TABLE accounts ADD COLUMN reputation_since timestamptz;
ALTER TABLE accounts ADD COLUMN reputation_warned_at timestamptz;

-- Outcomes per account and hour, derived from the event log by the trigger below, so that a
-- rate over a 7-day window reads at most 168 rows instead of every event of the week.
--   outcomes:     messages that reached the recipient's side or failed for good (DELIVERED, SENT,
--                 BOUNCED during delivery); a later asynchronous bounce is not a second outcome.
--   hard_bounces: BOUNCED events whose class is HARD (the address is bad), during delivery or later.
--   complaints:   COMPLAINED events.
-- shard: the writing connection's (backend pid mod 16), so that concurrent result batches of
-- several workers do not queue on one hot row per account and hour; readers sum the shards.
CREATE TABLE reputation_hours (
  account_id   bigint NOT NULL,
  hour         timestamptz NOT NULL,
  shard        smallint NOT NULL DEFAULT 0,
  outcomes     bigint NOT NULL DEFAULT 0,
  hard_bounces bigint NOT NULL DEFAULT 0,
  complaints   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, hour, shard)
);

-- The suppression list in the order the API pages it (newest first).
CREATE INDEX suppressions_by_time ON suppressions (account_id, created_at DESC, address);

-- Hard bounces and complaints suppress their address, and every outcome counts toward the
-- account's rates. A trigger, like the webhook fan-out, so that every statement that writes
-- events (delivery results, the inbound MX, SES notifications) does it the same way.
CREATE FUNCTION mailroom_feedback_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
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
    JOIN messages m ON m.id = e.message_id
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

CREATE TRIGGER message_events_feedback AFTER INSERT ON message_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION mailroom_feedback_from_events();

-- Processes that keep an account's suppression list in memory (the SMTP door's RCPT check,
-- src/suppression/cache.ts) hear about every change: one NOTIFY per statement and account.
CREATE FUNCTION mailroom_suppressions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed_account bigint;
BEGIN
  FOR changed_account IN SELECT DISTINCT account_id FROM changed LOOP
    PERFORM pg_notify('mailroom_suppressions', changed_account::text);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER suppressions_added AFTER INSERT ON suppressions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mailroom_suppressions_changed();
CREATE TRIGGER suppressions_removed AFTER DELETE ON suppressions
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mailroom_suppressions_changed();
