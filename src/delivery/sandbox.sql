-- name: insertCaught
INSERT INTO sandbox_messages (account_id, message_id, envelope_from, envelope_to, subject, raw, received_at)
SELECT account_id, message_id, envelope_from, envelope_to, subject, raw, received_at
FROM jsonb_to_recordset($1::jsonb) AS c(account_id bigint, message_id text, envelope_from text,
  envelope_to jsonb, subject text, raw text, received_at timestamptz);

-- name: listCaught
SELECT id, message_id, envelope_from, envelope_to, subject, received_at, length(raw) AS size
FROM sandbox_messages WHERE account_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3;

-- name: caughtById
SELECT id, message_id, envelope_from, envelope_to, subject, received_at, raw
FROM sandbox_messages WHERE account_id = $1 AND id = $2;

-- name: caughtByMessage
SELECT id, message_id, envelope_from, envelope_to, subject, received_at, raw
FROM sandbox_messages WHERE account_id = $1 AND message_id = $2 ORDER BY id;
