-- name: claimLanes
-- Leases up to $4 lanes with a delivery due, oldest first; SKIP LOCKED lets several dispatchers
-- (one per worker process) claim side by side, each lane going to one of them. The lanes in $5
-- are this dispatcher's own, still being sent though their lease ran out (a stalled receiver):
-- taking one again would send its deliveries twice at once, out of order.
UPDATE webhook_lanes l SET lease_token = $2, lease_until = $3
FROM (SELECT lane FROM webhook_lanes WHERE next_due_at <= $1 AND (lease_until IS NULL OR lease_until < $1) AND lane <> ALL($5::text[])
      ORDER BY next_due_at LIMIT $4 FOR UPDATE SKIP LOCKED) due
WHERE l.lane = due.lane
RETURNING l.lane, l.version;

-- name: renewLanes
-- Pushes forward the leases of lanes ($1) this dispatcher still sends (under its tokens $2).
-- A lane locked right now is being recorded or fanned out to: skipped, never waited for (no
-- lock cycle with those statements), and renewed next time.
UPDATE webhook_lanes SET lease_until = $3
WHERE lane IN (SELECT lane FROM webhook_lanes WHERE lane = ANY($1::text[]) AND lease_token = ANY($2::text[]) ORDER BY lane FOR UPDATE SKIP LOCKED);

-- name: pendingOfLanes
-- The first $2 pending deliveries of each lane in $1 after the delivery ($3 event, $4 delivery;
-- 0, 0 for the start of the lanes), in event order, with everything a request needs: the event
-- and its message, and the endpoint's URL and secrets.
SELECT d.id, d.lane, d.webhook_id, d.account_id, d.event_id, d.due_at, d.created_at, d.attempts,
       COALESCE(d.url, w.url) AS url, e.type, e.message_id, e.created_at AS event_at, e.details,
       m.to_address, m.from_address, m.external_id, m.client_id, m.alias, m.campaign_id, m.tags,
       w.secret, w.previous_secret, w.previous_secret_until, COALESCE(w.ordered, true) AS ordered, a.callback_secret
FROM unnest($1::text[]) AS l(lane)
CROSS JOIN LATERAL (
  SELECT * FROM webhook_deliveries d
  WHERE d.lane = l.lane AND d.status = 'pending' AND (d.event_id, d.id) > ($3::bigint, $4::bigint)
  ORDER BY d.event_id, d.id LIMIT $2
) d
JOIN message_events e ON e.id = d.event_id
JOIN accounts a ON a.id = d.account_id
LEFT JOIN messages m ON m.id = e.message_id
LEFT JOIN webhooks w ON w.id = d.webhook_id
ORDER BY d.lane, d.event_id, d.id;

-- name: recordAttempts
-- Applies a batch of attempts ($1) and hands the lanes back ($2): a lane's next due time is
-- the dispatcher's ($2.next_due_at) only if no delivery was added to it since it was claimed
-- (same version); otherwise it stays due, and the next claim finds the new ones.
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
    delivery_id bigint, status text, due_at timestamptz, url text, attempted_at timestamptz,
    duration_ms integer, status_code integer, error text, response text)
), d AS (
  UPDATE webhook_deliveries d SET status = r.status, attempts = d.attempts + 1, due_at = r.due_at,
    finished_at = CASE WHEN r.status = 'pending' THEN NULL ELSE r.attempted_at END, last_error = r.error
  -- The rows are found through = ANY(ARRAY(...)) on the primary key, as recordResults does: a
  -- plain join with the batch (estimated at a hundred rows) may scan the whole outbox.
  FROM r WHERE d.id = ANY (ARRAY(SELECT delivery_id FROM r)) AND d.id = r.delivery_id AND d.status = 'pending'
  RETURNING d.id, d.account_id, d.webhook_id, d.event_id
), a AS (
  INSERT INTO webhook_attempts (delivery_id, account_id, webhook_id, event_id, url, attempted_at, duration_ms, status_code, error, response)
  SELECT d.id, d.account_id, d.webhook_id, d.event_id, r.url, r.attempted_at, r.duration_ms, r.status_code, r.error, r.response
  FROM d JOIN r ON r.delivery_id = d.id
), l AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS l(lane text, token text, version bigint, next_due_at timestamptz)
), locked AS (
  -- The lanes are locked in lane order before they are updated, the order in which the fan-out
  -- trigger locks them too: an event recorded meanwhile for two of these lanes waits for this
  -- statement instead of deadlocking with it (which PostgreSQL resolves only after a second, by
  -- failing one of the two).
  SELECT w.lane FROM webhook_lanes w JOIN l ON w.lane = l.lane AND w.lease_token = l.token
  ORDER BY w.lane FOR UPDATE OF w
), f AS (
  UPDATE webhook_lanes w SET lease_token = NULL, lease_until = NULL,
    next_due_at = CASE WHEN w.version = l.version THEN l.next_due_at ELSE w.next_due_at END
  FROM l WHERE w.lane = l.lane AND w.lease_token = l.token AND w.lane IN (SELECT lane FROM locked)
)
SELECT count(*) AS recorded FROM d;

-- name: disableWebhook
-- After a delivery failed for its whole retry period: the webhook stops (its lane pauses, its
-- pending deliveries wait for it to be enabled again) and the account hears of it through the
-- event log (a WEBHOOK_DISABLED event, sent to its other webhooks).
WITH w AS (
  UPDATE webhooks SET enabled = false, disabled_reason = $2, updated_at = $3
  WHERE id = $1 AND enabled AND deleted_at IS NULL
  RETURNING id, account_id, url
), lane AS (
  UPDATE webhook_lanes SET next_due_at = NULL WHERE lane = 'webhook:' || (SELECT id FROM w)
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT NULL, account_id, 'WEBHOOK_DISABLED', $3, jsonb_build_object('webhookId', id, 'url', url, 'reason', $2) FROM w
)
SELECT id FROM w;

-- name: nextLaneDue
SELECT min(next_due_at) AS due_at FROM webhook_lanes WHERE next_due_at IS NOT NULL;
