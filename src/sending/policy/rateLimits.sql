-- name: ensureRows
INSERT INTO rate_usage (account_id, second_start, second_used, day_start, day_used)
SELECT unnest($1::bigint[]), 0, 0, 0, 0
ON CONFLICT (account_id) DO NOTHING;

-- name: take
-- Takes up to n messages for each account from its current second and day. A window moves only
-- forward (GREATEST): a process whose clock is a little behind counts into the newer window
-- instead of resetting it. Every value is computed from the target row itself, never from a
-- joined copy: PostgreSQL re-evaluates SET on the newest row version when a concurrent UPDATE
-- committed first (READ COMMITTED), so no two takers can both have the last message of a window.
--
-- The commit need not wait for its WAL flush (synchronous_commit off, for this statement's own
-- transaction only): every message this grant lets through is stored by a later, synchronous
-- commit, and flushing that one flushes this one before it (the WAL is written in order). A
-- crash of PostgreSQL can lose only grants whose messages were never stored, so a counted
-- message is never forgotten, and each message waits on one disk flush instead of two.
WITH wanted AS (
  SELECT w.*, set_config('synchronous_commit', 'off', true) AS relaxed
  FROM unnest($1::bigint[], $2::int[], $3::int[], $4::int[], $5::boolean[]) AS w (account_id, n, per_second, per_day, partial)
)
UPDATE rate_usage u SET
  granted = mailroom_rate_grant(w.n, w.partial, w.per_second, w.per_day,
    CASE WHEN $6 > u.second_start THEN 0 ELSE u.second_used END, CASE WHEN $7 > u.day_start THEN 0 ELSE u.day_used END),
  second_used = (CASE WHEN $6 > u.second_start THEN 0 ELSE u.second_used END) + mailroom_rate_grant(w.n, w.partial, w.per_second, w.per_day,
    CASE WHEN $6 > u.second_start THEN 0 ELSE u.second_used END, CASE WHEN $7 > u.day_start THEN 0 ELSE u.day_used END),
  day_used = (CASE WHEN $7 > u.day_start THEN 0 ELSE u.day_used END) + mailroom_rate_grant(w.n, w.partial, w.per_second, w.per_day,
    CASE WHEN $6 > u.second_start THEN 0 ELSE u.second_used END, CASE WHEN $7 > u.day_start THEN 0 ELSE u.day_used END),
  second_start = GREATEST(u.second_start, $6),
  day_start = GREATEST(u.day_start, $7)
FROM wanted w
WHERE u.account_id = w.account_id
RETURNING u.account_id, u.granted, u.second_used, u.day_used;

-- name: giveBack
-- Messages taken but not sent after all (an all-or-nothing request behind a partial one of the
-- same account in one batch), returned to the windows they were taken from, if still current.
UPDATE rate_usage SET second_used = GREATEST(0, second_used - CASE WHEN second_start = $3 THEN $2 ELSE 0 END),
  day_used = GREATEST(0, day_used - CASE WHEN day_start = $4 THEN $2 ELSE 0 END)
WHERE account_id = $1;
