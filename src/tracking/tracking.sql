-- name: recordEngagement
-- An OPENED or CLICKED event ($2) of message $1: first is whether it is the first of its type
-- (for a click, of that link, $5). Nothing for a message that no longer exists.
WITH m AS (SELECT id, account_id FROM messages WHERE id = $1)
INSERT INTO message_events (message_id, account_id, type, created_at, details)
SELECT m.id, m.account_id, $2, $3, $4::jsonb || jsonb_build_object('first', NOT EXISTS (
  SELECT 1 FROM message_events e
  WHERE e.message_id = m.id AND e.type = $2 AND ($5::text IS NULL OR e.details->>'url' = $5)))
FROM m
RETURNING id, (details->>'first')::boolean AS first;

-- name: unsubscribe
-- Unsubscribes the recipient of message $1: one UNSUBSCRIBED event (a repeated request adds
-- none) and a suppression entry for the account (an earlier entry, of any reason, is kept).
WITH m AS (SELECT id, account_id, lower(to_address) AS address FROM messages WHERE id = $1),
s AS (
  INSERT INTO suppressions (account_id, address, reason, message_id, created_at)
  SELECT account_id, address, 'UNSUBSCRIBE', id, $2 FROM m
  ON CONFLICT (account_id, address) DO NOTHING
  RETURNING address
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT m.id, m.account_id, 'UNSUBSCRIBED', $2, $3::jsonb FROM m
  WHERE NOT EXISTS (SELECT 1 FROM message_events x WHERE x.message_id = m.id AND x.type = 'UNSUBSCRIBED')
  RETURNING id
)
SELECT (SELECT count(*) FROM m)::int AS found, (SELECT count(*) FROM e)::int AS recorded, (SELECT count(*) FROM s)::int AS suppressed;
