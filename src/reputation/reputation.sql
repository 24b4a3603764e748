-- name: rates
-- Outcomes, hard bounces and complaints per account over its window: the last $2 hours, or
-- since the account was reinstated if that is later (from the next full hour: the hour of the
-- reinstatement still holds the bounces that suspended it). $1: one account, or NULL for every
-- account that has a hard bounce or complaint in the window (the only ones that can cross).
SELECT a.id AS account_id, a.name, a.status, a.suspended_reason, a.suspended_at, a.reputation_warned_at,
       w.since, COALESCE(sum(h.outcomes), 0)::bigint AS outcomes,
       COALESCE(sum(h.hard_bounces), 0)::bigint AS hard_bounces, COALESCE(sum(h.complaints), 0)::bigint AS complaints
FROM accounts a
CROSS JOIN LATERAL (
  SELECT GREATEST(date_trunc('hour', $3::timestamptz - make_interval(hours => $2::int)),
                  date_trunc('hour', a.reputation_since) + interval '1 hour') AS since
) w
LEFT JOIN reputation_hours h ON h.account_id = a.id AND h.hour >= w.since
WHERE ($1::bigint IS NULL OR a.id = $1)
GROUP BY a.id, w.since
HAVING $1::bigint IS NOT NULL OR COALESCE(sum(h.hard_bounces), 0) + COALESCE(sum(h.complaints), 0) > 0
ORDER BY a.id;

-- name: suspend
-- Only an active account is suspended, once: with several processes checking, one wins and
-- writes the event.
WITH a AS (
  UPDATE accounts SET status = 'suspended', suspended_reason = $2, suspended_at = $3
  WHERE id = $1 AND status = 'active'
  RETURNING id
)
INSERT INTO message_events (message_id, account_id, type, created_at, details)
SELECT NULL, id, 'ACCOUNT_SUSPENDED', $3, $4::jsonb FROM a
RETURNING id;

-- name: warn
-- One warning per account per $5 (a day): the first process to claim it writes the event.
WITH a AS (
  UPDATE accounts SET reputation_warned_at = $2
  WHERE id = $1 AND (reputation_warned_at IS NULL OR reputation_warned_at < $4)
  RETURNING id
)
INSERT INTO message_events (message_id, account_id, type, created_at, details)
SELECT NULL, id, 'REPUTATION_WARNING', $2, $3::jsonb FROM a
RETURNING id;

-- name: reinstate
-- Reinstating starts a new window and forgets the last warning; the event says who did it.
WITH a AS (
  UPDATE accounts SET status = 'active', suspended_reason = NULL, suspended_at = NULL,
                      reputation_since = $2, reputation_warned_at = NULL
  WHERE name = $1
  RETURNING id
)
INSERT INTO message_events (message_id, account_id, type, created_at, details)
SELECT NULL, id, 'ACCOUNT_REINSTATED', $2, $3::jsonb FROM a
RETURNING id;
