-- The campaign feeder (feeder.ts). $1 is always the feeder's lease token where one is named.

-- name: claim
-- Campaigns due to be fed and fed by nobody: running ones, and scheduled ones whose time has
-- come (they start running now, their audience fixed now). At most $4, each leased until $3;
-- never one this process is still feeding ($5: a lease of its own that ran out during a stall).
UPDATE campaigns c SET lease_token = $1, lease_until = $3,
  state = 'running',
  audience_at = COALESCE(c.audience_at, $2),
  started_at = COALESCE(c.started_at, $2),
  updated_at = CASE WHEN c.state = 'scheduled' THEN $2 ELSE c.updated_at END
WHERE c.id IN (
  SELECT id FROM campaigns
  WHERE state IN ('scheduled', 'running') AND (send_at IS NULL OR send_at <= $2 OR state = 'running')
    AND (lease_until IS NULL OR lease_until < $2) AND id <> ALL($5::text[])
  ORDER BY id LIMIT $4
  FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- name: setTotal
UPDATE campaigns SET total = $3, lease_until = $4 WHERE id = $2 AND lease_token = $1 AND state = 'running' RETURNING seq;

-- name: renew
UPDATE campaigns SET lease_until = $3 WHERE id = $2 AND lease_token = $1 AND state = 'running' RETURNING seq;

-- name: holdForPage
-- First statement of a page's transaction: the campaign is still this feeder's and still
-- running, and stays so (the row lock) until the page commits. A pause or cancel waits for it.
SELECT seq FROM campaigns WHERE id = $2 AND lease_token = $1 AND state = 'running' FOR UPDATE;

-- name: recordLedger
-- The page's recipients ($2: [{contact_id, message_id, outcome, refusal}]) of campaign $1; a
-- contact already in the ledger is left as it is and not returned, so its message is not stored
-- again.
INSERT INTO campaign_recipients (campaign_seq, contact_id, message_id, outcome, refusal, created_at)
SELECT $1, r.contact_id, r.message_id, r.outcome, r.refusal, $3
FROM jsonb_to_recordset($2::jsonb) AS r(contact_id bigint, message_id text, outcome text, refusal text)
ORDER BY r.contact_id
ON CONFLICT (campaign_seq, contact_id) DO NOTHING
RETURNING contact_id;

-- name: markRejected
-- The messages the store found suppressed ($2: message ids) are rejected, not queued.
UPDATE campaign_recipients SET outcome = 'rejected' WHERE campaign_seq = $1 AND message_id = ANY($2::text[]);

-- name: advance
UPDATE campaigns SET cursor = GREATEST(cursor, $3), processed = processed + $4, queued = queued + $5, rejected = rejected + $6,
  refused = refused + $7, lease_until = $8, updated_at = $9
WHERE id = $2 AND lease_token = $1;

-- name: finish
-- The audience is exhausted: the total becomes what was processed (members who left the lists
-- while it ran were not mailed).
UPDATE campaigns SET state = 'finished', total = processed, finished_at = $3, updated_at = $3, lease_token = NULL, lease_until = NULL
WHERE id = $2 AND lease_token = $1 AND state = 'running';

-- name: pauseWithError
UPDATE campaigns SET state = 'paused', error = $3::jsonb, updated_at = $4, lease_token = NULL, lease_until = NULL
WHERE id = $2 AND lease_token = $1 AND state = 'running';

-- name: release
UPDATE campaigns SET lease_token = NULL, lease_until = NULL WHERE id = $2 AND lease_token = $1;

-- name: backlog
-- How many queued messages are due now, counted up to $2: the feeder without a rate of its own
-- keeps the queue about this full rather than writing a million messages at once.
SELECT count(*)::int AS n FROM (SELECT 1 FROM queue WHERE due_at <= $1 LIMIT $2) q;
