-- name: pruneFinished
-- Deletes up to $2 deliveries finished (delivered or given up) before $1, with their attempts.
-- SKIP LOCKED: dispatchers of several processes prune side by side without waiting on each other.
WITH old AS (
  SELECT id FROM webhook_deliveries
  WHERE status <> 'pending' AND finished_at < $1
  ORDER BY finished_at LIMIT $2
  FOR UPDATE SKIP LOCKED
), attempts AS (
  DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM old)
), deliveries AS (
  DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM old) RETURNING id
)
SELECT count(*)::int AS deleted FROM deliveries;
