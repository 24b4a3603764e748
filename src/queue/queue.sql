-- name: claimDue
-- Takes up to $4 due rows nobody holds (SKIP LOCKED lets several workers claim side by side),
-- leases them until $2 under token $3, and returns what delivery needs.
WITH claimed AS (
  UPDATE queue q SET due_at = $2, lease_token = $3, attempts = q.attempts + 1
  FROM (SELECT message_id FROM queue WHERE due_at <= $1 ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED) due
  WHERE q.message_id = due.message_id
  RETURNING q.message_id, q.attempts, q.queued_at
)
SELECT c.message_id, c.attempts, c.queued_at, m.account_id, m.status, m.from_address, m.envelope, m.content,
       m.message_id_hdr, m.created_at
FROM claimed c JOIN messages m ON m.id = c.message_id;

-- name: recordResults
-- Applies a batch of delivery results, each only if its lease is still held: a worker whose
-- lease expired (and whose message another worker took) changes nothing.
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
    message_id text, lease_token text, type text, status text, details jsonb, at timestamptz,
    retry_at timestamptz, last_error text)
), done AS (
  DELETE FROM queue q USING r
  WHERE q.message_id = r.message_id AND q.lease_token = r.lease_token AND r.retry_at IS NULL
  RETURNING q.message_id
), retried AS (
  UPDATE queue q SET due_at = r.retry_at, lease_token = NULL, last_error = r.last_error
  FROM r WHERE q.message_id = r.message_id AND q.lease_token = r.lease_token AND r.retry_at IS NOT NULL
  RETURNING q.message_id
), applied AS (
  SELECT message_id FROM done UNION ALL SELECT message_id FROM retried
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT r.message_id, m.account_id, r.type, r.at, r.details
  FROM r JOIN applied a ON a.message_id = r.message_id JOIN messages m ON m.id = r.message_id
), u AS (
  UPDATE messages m SET status = r.status, updated_at = r.at
  FROM r JOIN applied a ON a.message_id = r.message_id
  WHERE m.id = r.message_id
)
SELECT message_id FROM applied;

-- name: releaseLeases
UPDATE queue SET due_at = $2, lease_token = NULL WHERE lease_token = ANY($1::text[]);

-- name: releaseAllLeases
UPDATE queue SET due_at = LEAST(due_at, $1), lease_token = NULL WHERE lease_token IS NOT NULL;

-- name: nextDue
SELECT min(due_at) AS due_at FROM queue;

-- name: depth
SELECT count(*) AS depth, min(queued_at) AS oldest FROM queue;
