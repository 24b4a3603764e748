-- name: register
INSERT INTO workers (id, host, pid, started_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING;

-- name: unregister
DELETE FROM workers WHERE id = $1;

-- name: recoverDead
-- A worker whose advisory lock can be taken is dead (its session, and so its lock, is gone):
-- its queue rows fall due now and its webhook lanes and campaigns are free again, in this one statement, whose
-- transaction holds the dead workers' locks until it commits. ($3: the lock namespace.)
WITH dead AS (
  SELECT id FROM workers WHERE id <> $1 AND pg_try_advisory_xact_lock($3, hashtext(id))
), messages AS (
  UPDATE queue SET due_at = LEAST(due_at, $2), lease_token = NULL
  WHERE lease_token IS NOT NULL AND split_part(lease_token, '.', 1) IN (SELECT id FROM dead)
  RETURNING 1
), lanes AS (
  UPDATE webhook_lanes SET lease_token = NULL, lease_until = NULL
  WHERE lease_token IS NOT NULL AND split_part(lease_token, '.', 1) IN (SELECT id FROM dead)
  RETURNING 1
), campaigns AS (
  UPDATE campaigns SET lease_token = NULL, lease_until = NULL
  WHERE lease_token IS NOT NULL AND split_part(lease_token, '.', 1) IN (SELECT id FROM dead)
  RETURNING 1
), gone AS (
  DELETE FROM workers WHERE id IN (SELECT id FROM dead)
)
SELECT (SELECT count(*) FROM dead) AS workers, (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM lanes) AS lanes,
       (SELECT count(*) FROM campaigns) AS campaigns;

-- name: releaseAllLanes
-- Embedded PGlite only (one process owns the data directory): every lane and campaign lease at
-- start is a dead process's.
WITH lanes AS (UPDATE webhook_lanes SET lease_token = NULL, lease_until = NULL WHERE lease_token IS NOT NULL RETURNING 1)
UPDATE campaigns SET lease_token = NULL, lease_until = NULL WHERE lease_token IS NOT NULL;
