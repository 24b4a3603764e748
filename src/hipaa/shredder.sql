-- name: shredFinished
-- Crypto-shredding (docs/HIPAA.md): the data keys of HIPAA messages that reached a final
-- status at least $1 ago (MAILROOM_HIPAA_RETENTION_HOURS) and have no queue row left are
-- deleted, and their content replaced by a marker, in one statement. message_keys holds only
-- the keys of messages not yet shredded, so the sweep reads a small table, never all messages.
-- SENT counts: the relay has the message and nothing will send it again.
WITH due AS (
  SELECT k.message_id FROM message_keys k JOIN messages m ON m.id = k.message_id
  WHERE m.status IN ('SENT', 'DELIVERED', 'BOUNCED', 'REJECTED', 'FAILED', 'COMPLAINED')
    AND m.updated_at <= $1
    AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = k.message_id)
  ORDER BY k.seq
  LIMIT $2
  FOR UPDATE OF k SKIP LOCKED
), gone AS (
  DELETE FROM message_keys k USING due WHERE k.message_id = due.message_id RETURNING k.message_id
)
UPDATE messages m SET content = '{"kind": "shredded"}'::jsonb
FROM gone WHERE m.id = gone.message_id
RETURNING m.id;
