-- Per-recipient exports of a campaign: a page of its messages in id order (index
-- messages_by_campaign, migration 018) after $3, at most $4, each with what it is exported for.
-- Every message of the page comes back (with NULLs when it has no such event), so that the next
-- page starts after the page's last message. Each message's events are read through
-- message_events_by_message: one index look-up per message (LATERAL, not a join the planner could
-- turn into a scan of the events). Times are formatted here as JavaScript's toISOString() would,
-- which saves parsing each into a Date and printing it again.

-- name: delivered
-- Its first DELIVERED (or SENT, through a relay) event.
SELECT p.id, p.to_address, p.external_id, e.at, e.type
FROM (SELECT id, to_address, external_id FROM messages WHERE account_id = $1 AND campaign_id = $2 AND id > $3 ORDER BY id LIMIT $4) p
LEFT JOIN LATERAL (
  SELECT to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, x.type FROM message_events x
  WHERE x.message_id = p.id AND x.type IN ('DELIVERED', 'SENT') ORDER BY x.id LIMIT 1
) e ON true
ORDER BY p.id;

-- name: opened
-- Its opens: the first by a person, how many by people, how many by machines.
SELECT p.id, p.to_address, p.external_id, e.first_at, e.opens, e.machine_opens
FROM (SELECT id, to_address, external_id FROM messages WHERE account_id = $1 AND campaign_id = $2 AND id > $3 ORDER BY id LIMIT $4) p
LEFT JOIN LATERAL (
  SELECT to_char(min(x.created_at) FILTER (WHERE x.details->'machine' IS DISTINCT FROM 'true'::jsonb) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS first_at,
         count(*) FILTER (WHERE x.details->'machine' IS DISTINCT FROM 'true'::jsonb) AS opens,
         count(*) FILTER (WHERE x.details->'machine' = 'true'::jsonb) AS machine_opens
  FROM message_events x WHERE x.message_id = p.id AND x.type = 'OPENED' OFFSET 0
) e ON true
ORDER BY p.id;

-- name: clicked
-- Its clicks, one row per link, in the order the links were first clicked.
SELECT p.id, p.to_address, p.external_id, e.url, e.first_at, e.clicks, e.machine_clicks
FROM (SELECT id, to_address, external_id FROM messages WHERE account_id = $1 AND campaign_id = $2 AND id > $3 ORDER BY id LIMIT $4) p
LEFT JOIN LATERAL (
  SELECT x.details->>'url' AS url, min(x.id) AS first_id,
         to_char(min(x.created_at) FILTER (WHERE x.details->'machine' IS DISTINCT FROM 'true'::jsonb) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS first_at,
         count(*) FILTER (WHERE x.details->'machine' IS DISTINCT FROM 'true'::jsonb) AS clicks,
         count(*) FILTER (WHERE x.details->'machine' = 'true'::jsonb) AS machine_clicks
  FROM message_events x WHERE x.message_id = p.id AND x.type = 'CLICKED'
  GROUP BY 1 OFFSET 0
) e ON true
ORDER BY p.id, e.first_id;

-- name: bounced
-- Each BOUNCED event: during delivery, or later by a report (a message can bounce per recipient).
SELECT p.id, p.to_address, p.external_id, e.at, e.bounce_class, e.reason, e.code, e.enhanced_code, e.reply, e.recipient
FROM (SELECT id, to_address, external_id FROM messages WHERE account_id = $1 AND campaign_id = $2 AND id > $3 ORDER BY id LIMIT $4) p
LEFT JOIN LATERAL (
  SELECT x.id, to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, x.details->>'bounceClass' AS bounce_class, x.details->>'reason' AS reason,
         x.details->>'code' AS code, x.details->>'enhancedCode' AS enhanced_code, x.details->>'reply' AS reply,
         x.details->>'recipient' AS recipient
  FROM message_events x WHERE x.message_id = p.id AND x.type = 'BOUNCED' OFFSET 0
) e ON true
ORDER BY p.id, e.id;

-- name: unsubscribed
SELECT p.id, p.to_address, p.external_id, e.at, e.via
FROM (SELECT id, to_address, external_id FROM messages WHERE account_id = $1 AND campaign_id = $2 AND id > $3 ORDER BY id LIMIT $4) p
LEFT JOIN LATERAL (
  SELECT to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, x.details->>'via' AS via FROM message_events x
  WHERE x.message_id = p.id AND x.type = 'UNSUBSCRIBED' ORDER BY x.id LIMIT 1
) e ON true
ORDER BY p.id;

-- name: complained
SELECT p.id, p.to_address, p.external_id, e.at, e.feedback_type, e.recipient
FROM (SELECT id, to_address, external_id FROM messages WHERE account_id = $1 AND campaign_id = $2 AND id > $3 ORDER BY id LIMIT $4) p
LEFT JOIN LATERAL (
  SELECT x.id, to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, x.details->>'feedbackType' AS feedback_type, x.details->>'recipient' AS recipient
  FROM message_events x WHERE x.message_id = p.id AND x.type = 'COMPLAINED' OFFSET 0
) e ON true
ORDER BY p.id, e.id;
