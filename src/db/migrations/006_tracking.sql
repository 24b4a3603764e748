-- Open and click tracking, unsubscribe.
-- What an account tracks when a message does not say (trackOpens / trackClicks).
ALTER TABLE accounts ADD COLUMN track_opens boolean NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN track_clicks boolean NOT NULL DEFAULT false;

-- A webhook that does not need its events in order: several requests in flight on its
-- connection (HTTP/1.1 pipelining), for endpoints that take more events than one round trip
-- at a time allows.
ALTER TABLE webhooks ADD COLUMN ordered boolean NOT NULL DEFAULT true;

-- Finished outbox rows by age, for the retention job (src/webhooks/retention.ts).
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';

-- The account's suppression list: addresses it must not send to again. Unsubscribes write it
-- now; bounces, complaints and the API's own entries share it.
CREATE TABLE suppressions (
  account_id bigint NOT NULL REFERENCES accounts (id),
  address    text NOT NULL,
  reason     text NOT NULL CHECK (reason IN ('HARD_BOUNCE', 'COMPLAINT', 'UNSUBSCRIBE', 'MANUAL')),
  message_id text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, address)
);
