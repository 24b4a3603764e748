-- Reports (issue 16, docs/REPORTS.md): counters derived from the event log, kept in rollup rows
-- by a consumer (src/reports/consumer.ts) rather than by the statements that write events.
-- Updating a rollup row inside those statements would make every concurrent ingest or result
-- batch of an account wait on one row lock (its current hour); appending to a backlog takes no
-- lock anyone else wants.

-- The events not yet counted: appended by the trigger below in the transaction that writes the
-- events, deleted by the consumer in the transaction that adds them to the rollups, so each event
-- is counted once (a consumer that dies rolls both back). One row per statement that wrote
-- events, with their ids: an acceptance statement of 10 messages adds one row, not ten (on
-- PGlite a row per event cost the statement about 0.4 ms). A row holds the ids of one thousand
-- (id / 1000), so a statement that writes a million events still makes batches a consumer can
-- take a few at a time.
CREATE TABLE report_backlog (
  id        bigserial PRIMARY KEY,
  event_ids bigint[] NOT NULL,
  -- cardinality(event_ids), kept apart: the consumer sizes its batch without reading the arrays.
  events    integer NOT NULL
);

-- Account events (no message) are not reported on.
CREATE FUNCTION mailroom_report_backlog() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_backlog (event_ids, events)
  SELECT array_agg(id), count(*) FROM new_events WHERE message_id IS NOT NULL GROUP BY id / 1000;
  RETURN NULL;
END
$$;

CREATE TRIGGER message_events_report_backlog AFTER INSERT ON message_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION mailroom_report_backlog();

-- The rollups: one row per account, dimension, key and time bucket: all time (span 't', bucket
-- 1970-01-01), a UTC day (span 'd') and, for the dimensions with time series (the account,
-- campaigns, tags, a campaign's tags), an hour (span 'h'). The same counts several times, so that
-- a report over all time reads one row per key and one over months reads days, not hours.
--   dim 'a'  the account            key ''           sub ''
--       'c'  campaign               key campaign id  sub ''
--       'e'  externalId             key external id  sub ''
--       'i'  clientId               key client id    sub ''
--       't'  tag (one row per tag)  key tag          sub ''
--       'd'  recipient domain       key domain       sub ''
--       'ct' campaign x tag         key campaign id  sub tag
--       'cd' campaign x domain      key campaign id  sub domain
--       'td' tag x domain           key tag          sub domain
-- The counters are numbers of events, except the *_unique ones (messages: the first person's
-- open or click of a message, counted in the hour of that first event).
CREATE TABLE report_counts (
  account_id      bigint NOT NULL,
  dim             text NOT NULL,
  key             text NOT NULL,
  sub             text NOT NULL,
  span            text NOT NULL CHECK (span IN ('t', 'd', 'h')),
  bucket          timestamptz NOT NULL,
  requested       bigint NOT NULL DEFAULT 0,
  sent            bigint NOT NULL DEFAULT 0,
  delivered       bigint NOT NULL DEFAULT 0,
  deferred        bigint NOT NULL DEFAULT 0,
  bounced_hard    bigint NOT NULL DEFAULT 0,
  bounced_soft    bigint NOT NULL DEFAULT 0,
  rejected        bigint NOT NULL DEFAULT 0,
  failed          bigint NOT NULL DEFAULT 0,
  complained      bigint NOT NULL DEFAULT 0,
  unsubscribed    bigint NOT NULL DEFAULT 0,
  opened          bigint NOT NULL DEFAULT 0,
  opened_unique   bigint NOT NULL DEFAULT 0,
  opened_machine  bigint NOT NULL DEFAULT 0,
  clicked         bigint NOT NULL DEFAULT 0,
  clicked_unique  bigint NOT NULL DEFAULT 0,
  clicked_machine bigint NOT NULL DEFAULT 0,
  -- Span, then key order: a grouped report walks one span's keys in order (the day rows alone,
  -- never a key's hours) and stops at its page's end; a time series reads one key's range.
  PRIMARY KEY (account_id, dim, span, key, sub, bucket)
) WITH (fillfactor = 75);

-- Which event was a message's first open ('open') or click ('click') by a person, and which of
-- its links were clicked ('link:' || md5(url)), so that unique counts are decided once, by the
-- consumer, whatever the order in which events commit.
CREATE TABLE report_firsts (
  message_id text NOT NULL,
  kind       text NOT NULL,
  event_id   bigint NOT NULL,
  at         timestamptz NOT NULL,
  PRIMARY KEY (message_id, kind)
);

-- Clicks per link of a campaign (the URL as the message linked it; its md5 is the key, as a URL
-- can be longer than an index entry may be).
CREATE TABLE report_links (
  account_id      bigint NOT NULL,
  campaign_id     text NOT NULL,
  url_hash        text NOT NULL,
  url             text NOT NULL,
  clicked         bigint NOT NULL DEFAULT 0,
  clicked_unique  bigint NOT NULL DEFAULT 0,
  clicked_machine bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, campaign_id, url_hash)
);

-- Per-recipient exports page through a campaign's messages by id: the index gains the id (the
-- old one, on (account_id, campaign_id) alone, returned a campaign's rows in no useful order).
DROP INDEX messages_by_campaign;
CREATE INDEX messages_by_campaign ON messages (account_id, campaign_id, id) WHERE campaign_id IS NOT NULL;

-- Events written before this migration are counted too: the consumer works through them after
-- the upgrade (reports are incomplete until it has; docs/REPORTS.md).
INSERT INTO report_backlog (event_ids, events)
SELECT array_agg(id ORDER BY id), count(*) FROM message_events WHERE message_id IS NOT NULL GROUP BY id / 1000 ORDER BY id / 1000;
