-- name: lockMessage
-- The message a report is about, locked so that its status moves from what it is now (a
-- worker recording a result for it waits, and then sees the new status).
SELECT id, account_id, to_address, status, envelope FROM messages WHERE id = $1 FOR UPDATE;

-- name: recordFeedback
-- One event per message, type and recipient: a DSN that arrives twice (senders resend them)
-- neither adds a second event nor counts twice toward the bounce rate.
WITH e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT $1, $2, $3, $5, $6::jsonb
  WHERE NOT EXISTS (
    SELECT 1 FROM message_events WHERE message_id = $1 AND type = $3 AND details->>'recipient' = $7
  )
  RETURNING message_id
)
UPDATE messages SET status = $4, updated_at = $5 WHERE id IN (SELECT message_id FROM e) RETURNING id;
