-- name: insertWebhook
INSERT INTO webhooks (account_id, url, description, event_types, secret, ordered, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $7, $6, $6)
RETURNING *;

-- name: listWebhooks
SELECT * FROM webhooks WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id;

-- name: webhookById
SELECT * FROM webhooks WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL;

-- name: updateWebhook
-- Re-enabling a webhook resumes its lane from its oldest pending delivery.
WITH w AS (
  UPDATE webhooks SET url = COALESCE($3, url), description = COALESCE($4, description),
    event_types = COALESCE($5, event_types),
    enabled = COALESCE($6, enabled),
    ordered = COALESCE($8, ordered),
    disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason WHEN $6 THEN NULL ELSE 'disabled by the account' END,
    updated_at = $7
  WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL
  RETURNING *
), lane AS (
  UPDATE webhook_lanes l SET next_due_at = CASE WHEN w.enabled
      THEN (SELECT min(d.due_at) FROM webhook_deliveries d WHERE d.lane = l.lane AND d.status = 'pending') END
  FROM w WHERE l.lane = 'webhook:' || w.id
)
SELECT * FROM w;

-- name: deleteWebhook
-- Its pending deliveries end as failed; its lane stops.
WITH w AS (
  UPDATE webhooks SET deleted_at = $3, enabled = false, updated_at = $3
  WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL
  RETURNING id
), d AS (
  UPDATE webhook_deliveries SET status = 'failed', finished_at = $3, last_error = 'the webhook was deleted'
  WHERE webhook_id = (SELECT id FROM w) AND status = 'pending'
), lane AS (
  UPDATE webhook_lanes SET next_due_at = NULL WHERE lane = 'webhook:' || (SELECT id FROM w)
)
SELECT id FROM w;

-- name: rotateSecret
UPDATE webhooks SET previous_secret = secret, previous_secret_until = $4, secret = $3, updated_at = $5
WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL
RETURNING *;

-- name: attemptsOfWebhook
SELECT a.*, e.type AS event_type, e.message_id, d.status AS delivery_status
FROM webhook_attempts a
JOIN webhook_deliveries d ON d.id = a.delivery_id
JOIN message_events e ON e.id = a.event_id
WHERE a.account_id = $1 AND a.webhook_id = $2 AND ($3::bigint IS NULL OR a.id < $3)
ORDER BY a.id DESC
LIMIT $4;

-- name: redeliver
-- A new delivery of the delivery's event to its webhook, at the end of the lane.
WITH src AS (
  SELECT d.account_id, d.lane, d.webhook_id, d.event_id FROM webhook_deliveries d
  JOIN webhooks w ON w.id = d.webhook_id AND w.deleted_at IS NULL
  WHERE d.account_id = $1 AND d.webhook_id = $2 AND d.id = $3
), ins AS (
  INSERT INTO webhook_deliveries (account_id, lane, webhook_id, url, event_id, due_at, created_at)
  SELECT account_id, lane, webhook_id, NULL, event_id, $4, $4 FROM src
  RETURNING id, lane
), lane AS (
  UPDATE webhook_lanes l SET next_due_at = COALESCE(l.next_due_at, $4), version = l.version + 1
  FROM ins, webhooks w WHERE l.lane = ins.lane AND w.id = $2 AND w.enabled
)
SELECT id FROM ins;

-- name: testEvent
-- A WEBHOOK_TEST event, sent only to this webhook (the fan-out trigger leaves that type alone).
WITH w AS (
  SELECT id, account_id FROM webhooks WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT NULL, account_id, 'WEBHOOK_TEST', $3, jsonb_build_object('webhookId', id) FROM w
  RETURNING id, account_id
), d AS (
  INSERT INTO webhook_deliveries (account_id, lane, webhook_id, url, event_id, due_at, created_at)
  SELECT e.account_id, 'webhook:' || $2, $2, NULL, e.id, $3, $3 FROM e
  RETURNING id, event_id
), lane AS (
  INSERT INTO webhook_lanes AS l (lane, account_id, webhook_id, next_due_at)
  SELECT 'webhook:' || $2, account_id, $2, $3 FROM e
  ON CONFLICT (lane) DO UPDATE SET next_due_at = COALESCE(l.next_due_at, EXCLUDED.next_due_at), version = l.version + 1
)
SELECT d.id AS delivery_id, d.event_id FROM d;

-- name: callbackAttemptsOfMessage
SELECT a.*, e.type AS event_type, e.message_id, d.status AS delivery_status
FROM message_events e
JOIN webhook_attempts a ON a.event_id = e.id AND a.webhook_id IS NULL
JOIN webhook_deliveries d ON d.id = a.delivery_id
WHERE e.account_id = $1 AND e.message_id = $2
ORDER BY a.id;

-- name: webhookAttemptsOfMessage
SELECT a.*, e.type AS event_type, e.message_id, d.status AS delivery_status
FROM message_events e
JOIN webhook_attempts a ON a.event_id = e.id AND a.webhook_id IS NOT NULL AND a.account_id = $1
JOIN webhook_deliveries d ON d.id = a.delivery_id
WHERE e.account_id = $1 AND e.message_id = $2
ORDER BY a.id
LIMIT 500;
