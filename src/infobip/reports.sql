-- name: takeReports
-- The account's delivery reports not fetched yet, oldest first, each marked fetched by the same
-- statement: only the rows this statement inserted are returned, so two fetches at once never
-- both return one report. $2 bulkId (campaign_id), $3 messageId (Mailroom id or externalId).
-- The types repeat migration 030's partial index, so that the planner can use it.
WITH picked AS (
  SELECT e.id AS event_id, e.type, e.created_at AS done_at, e.details,
         m.id AS message_id, m.external_id, m.campaign_id, m.to_address, m.created_at AS sent_at
  FROM message_events e
  JOIN messages m ON m.id = e.message_id AND m.account_id = e.account_id
  WHERE e.account_id = $1
    AND e.type IN ('SENT', 'DELIVERED', 'BOUNCED', 'FAILED', 'REJECTED')
    AND ($2::text IS NULL OR m.campaign_id = $2)
    AND ($3::text IS NULL OR m.id = $3 OR m.external_id = $3)
    AND NOT EXISTS (SELECT 1 FROM infobip_fetched_reports f WHERE f.account_id = $1 AND f.event_id = e.id)
  ORDER BY e.id
  LIMIT $4
), marked AS (
  INSERT INTO infobip_fetched_reports (account_id, event_id, fetched_at)
  SELECT $1, event_id, now() FROM picked
  ON CONFLICT DO NOTHING
  RETURNING event_id
)
SELECT picked.* FROM picked JOIN marked USING (event_id) ORDER BY event_id;
