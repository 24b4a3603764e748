-- Webhooks and per-message callbacks (SPEC section 5): a durable outbox fed by the event log.

-- Account events (a webhook disabled, ...) live in the one event log too, with no message.
ALTER TABLE message_events ALTER COLUMN message_id DROP NOT NULL;

CREATE TABLE webhooks (
  id                    bigserial PRIMARY KEY,
  account_id            bigint NOT NULL REFERENCES accounts (id),
  url                   text NOT NULL,
  description           text NOT NULL DEFAULT '',
  -- The event types it is sent; empty: every type.
  event_types           jsonb NOT NULL DEFAULT '[]',
  secret                text NOT NULL,
  -- After a rotation the old secret signs too, until previous_secret_until.
  previous_secret       text,
  previous_secret_until timestamptz,
  enabled               boolean NOT NULL DEFAULT true,
  disabled_reason       text,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  deleted_at            timestamptz
);
CREATE INDEX webhooks_by_account ON webhooks (account_id, id) WHERE deleted_at IS NULL;

-- The outbox: one row per event and endpoint, sent in event order per lane (an endpoint: a
-- webhook, or a callback URL of an account).
CREATE TABLE webhook_deliveries (
  id          bigserial PRIMARY KEY,
  account_id  bigint NOT NULL,
  lane        text NOT NULL,
  webhook_id  bigint,
  -- A callback's URL; null for a webhook, which is sent to its URL of the moment.
  url         text,
  event_id    bigint NOT NULL,
  status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts    integer NOT NULL DEFAULT 0,
  due_at      timestamptz NOT NULL,
  created_at  timestamptz NOT NULL,
  finished_at timestamptz,
  last_error  text
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (lane, event_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id) WHERE webhook_id IS NOT NULL;

-- One row per endpoint: when its next delivery is due, and which dispatcher holds it. A lane is
-- sent by one dispatcher at a time, in order; `version` grows with every delivery added, so a
-- dispatcher finishing a lane can tell whether more arrived while it worked.
CREATE TABLE webhook_lanes (
  lane        text PRIMARY KEY,
  account_id  bigint NOT NULL,
  webhook_id  bigint,
  next_due_at timestamptz,
  version     bigint NOT NULL DEFAULT 0,
  lease_token text,
  lease_until timestamptz
);
CREATE INDEX webhook_lanes_due ON webhook_lanes (next_due_at) WHERE next_due_at IS NOT NULL;

CREATE TABLE webhook_attempts (
  id           bigserial PRIMARY KEY,
  delivery_id  bigint NOT NULL,
  account_id   bigint NOT NULL,
  webhook_id   bigint,
  event_id     bigint NOT NULL,
  url          text NOT NULL,
  attempted_at timestamptz NOT NULL,
  duration_ms  integer NOT NULL,
  status_code  integer,
  error        text,
  -- The start of the receiver's answer, for the account to see why it failed.
  response     text
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, id);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

-- The http(s) callback URLs of the messages that have any (most have none), written with the
-- message: the fan-out below looks here rather than in every message of an event.
CREATE TABLE message_callbacks (
  message_id text PRIMARY KEY,
  account_id bigint NOT NULL,
  urls       jsonb NOT NULL
);

-- Every statement that writes events fans them out to the outbox in the same transaction: the
-- account's enabled webhooks subscribed to the type, and the message's http(s) callbacks. One
-- trigger instead of a CTE in each statement that writes events, so none can forget it.
CREATE FUNCTION mailroom_fan_out_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Most statements have nothing to fan out (no webhook in the account, no callback on the
  -- message): they pay two small look-ups, not the statement below (about 1.5 ms on PGlite).
  IF NOT EXISTS (
    SELECT 1 FROM webhooks w
    WHERE w.enabled AND w.deleted_at IS NULL AND w.account_id IN (SELECT account_id FROM new_events)
  ) AND NOT EXISTS (
    SELECT 1 FROM new_events e JOIN message_callbacks c ON c.message_id = e.message_id
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
    JOIN message_callbacks c ON c.message_id = e.message_id
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

CREATE TRIGGER message_events_fan_out AFTER INSERT ON message_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION mailroom_fan_out_events();

-- Callbacks are signed per Standard Webhooks with the account's secret, which must therefore be
-- "whsec_" and base64. None was ever used before this version (no callback was sent), so the
-- old ones are replaced: 32 random bytes from two UUIDs' 244 random bits.
UPDATE accounts SET callback_secret = 'whsec_' || encode(
  decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64')
WHERE callback_secret NOT LIKE 'whsec\_%';
