-- name: listCaught
SELECT id, message_id, envelope_from, envelope_to, subject, received_at, length(raw) AS size
FROM sandbox_messages WHERE account_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3;

-- name: caughtById
SELECT id, message_id, envelope_from, envelope_to, subject, received_at, raw
FROM sandbox_messages WHERE account_id = $1 AND id = $2;

-- name: caughtByMessage
SELECT id, message_id, envelope_from, envelope_to, subject, received_at, raw
FROM sandbox_messages WHERE account_id = $1 AND message_id = $2 ORDER BY id;

-- name: newestCaughtOfMessage
SELECT id, message_id, envelope_from, envelope_to, subject, received_at, raw
FROM sandbox_messages WHERE account_id = $1 AND message_id = $2 ORDER BY id DESC LIMIT 1;
