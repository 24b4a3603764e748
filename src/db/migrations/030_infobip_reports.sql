-- The Infobip-compatible door (src/infobip/, docs/INFOBIP.md): GET /email/1/reports returns each
-- delivery report once, as Infobip does. A report is an event of the log (message_events); the
-- events an account has fetched are recorded here, per account, so that a fetch filtered by
-- bulkId leaves the other bulks' reports for later. Both columns are the key: a concurrent fetch
-- that picked the same event inserts nothing (ON CONFLICT DO NOTHING) and does not return it.
CREATE TABLE infobip_fetched_reports (
  account_id bigint NOT NULL,
  event_id   bigint NOT NULL,
  fetched_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, event_id)
);

-- The account's delivery outcomes in order, without walking its other events: the types are
-- src/infobip/statuses.ts's report rows (test/infobip/statuses.test.ts holds them equal).
CREATE INDEX message_events_infobip_reports ON message_events (account_id, id)
  WHERE type IN ('SENT', 'DELIVERED', 'BOUNCED', 'FAILED', 'REJECTED');
