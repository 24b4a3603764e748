-- name: messagesForReports
-- The messages reports are about (whose recipients the reports are matched against).
SELECT id, account_id, to_address, status, envelope FROM messages WHERE id = ANY ($1::text[]);

-- name: recordFeedback
-- Applies a batch of report events in one statement (one commit for every report that arrived
-- meanwhile). Each message appears with one event type only (feedback.ts sees to it), so its
-- new status is the one transition $2 (the status fold of src/events/status.ts, as a table:
-- type -> current status -> next) gives. The messages are locked in id order, so that two
-- statements never wait on each other in a cycle. One event per message, type and recipient:
-- a DSN that arrives twice (senders resend them) neither adds a second event nor counts twice
-- toward the bounce rate. Returns the entries recorded.
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(n int, message_id text, type text, recipient text, details jsonb, at timestamptz)
), locked AS (
  SELECT m.id, m.account_id, m.status FROM messages m
  WHERE m.id = ANY (ARRAY(SELECT message_id FROM r))
  ORDER BY m.id
  FOR UPDATE
), fresh AS (
  SELECT r.*, l.account_id, l.status AS current FROM r JOIN locked l ON l.id = r.message_id
  WHERE NOT EXISTS (
    SELECT 1 FROM message_events e WHERE e.message_id = r.message_id AND e.type = r.type AND e.details->>'recipient' = r.recipient
  )
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT message_id, account_id, type, at, details FROM fresh ORDER BY n
), u AS (
  UPDATE messages m SET status = COALESCE($2::jsonb -> f.type ->> f.current, f.current), updated_at = f.at
  FROM (SELECT DISTINCT ON (message_id) message_id, type, current, at FROM fresh ORDER BY message_id, n DESC) f
  WHERE m.id = f.message_id
)
SELECT n FROM fresh;
