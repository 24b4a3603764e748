-- Every query names the account: another account's campaign is simply not found.

-- name: createCampaign
INSERT INTO campaigns (id, account_id, operator_id, name, from_address, reply_to, subject, text_body, html_body, template_id, template_version,
                       lists, exclude_lists, tags, track_opens, track_clicks, send_at, rate_per_minute, state, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'draft', $19, $19)
RETURNING *;

-- name: getCampaign
SELECT * FROM campaigns WHERE account_id = $1 AND id = $2;

-- name: listCampaigns
-- Newest first; the cursor is the last id of the previous page (ids sort by creation time).
SELECT * FROM campaigns
WHERE account_id = $1 AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR state = $3)
ORDER BY id DESC
LIMIT $4;

-- name: lockCampaign
SELECT * FROM campaigns WHERE account_id = $1 AND id = $2 FOR UPDATE;

-- name: saveCampaign
-- The whole editable content, as merged by campaigns.ts (only in draft and scheduled).
UPDATE campaigns SET name = $3, from_address = $4, reply_to = $5, subject = $6, text_body = $7, html_body = $8, template_id = $9,
  template_version = $10, lists = $11, exclude_lists = $12, tags = $13, track_opens = $14, track_clicks = $15, send_at = $16,
  rate_per_minute = $17, updated_at = $18
WHERE account_id = $1 AND id = $2
RETURNING *;

-- name: setState
-- A state change asked through the API. $4: the states it may leave; $6: the template version
-- pinned at start (null keeps it). Starting anew (draft -> running) fixes the audience now.
UPDATE campaigns SET state = $3,
  template_version = COALESCE($6::integer, template_version),
  audience_at = CASE WHEN $3 = 'running' AND audience_at IS NULL THEN $5 ELSE audience_at END,
  started_at = CASE WHEN $3 = 'running' AND started_at IS NULL THEN $5 ELSE started_at END,
  finished_at = CASE WHEN $3 IN ('finished', 'canceled') THEN $5 ELSE finished_at END,
  error = CASE WHEN $3 IN ('running', 'scheduled') THEN NULL ELSE error END,
  updated_at = $5
WHERE account_id = $1 AND id = $2 AND state = ANY($4::text[])
RETURNING *;

-- name: deleteCampaign
WITH c AS (
  DELETE FROM campaigns WHERE account_id = $1 AND id = $2 AND state IN ('draft', 'finished', 'canceled') RETURNING seq, id, name
), ledger AS (
  DELETE FROM campaign_recipients WHERE campaign_seq IN (SELECT seq FROM c) RETURNING 1
)
SELECT id, name, (SELECT count(*) FROM ledger)::bigint AS recipients FROM c;

-- name: knownLists
-- Which of the ids $2 are lists of account $1.
SELECT id FROM lists WHERE account_id = $1 AND id = ANY($2::text[]);

-- name: principalOf
-- Who a campaign sends as: its account (status read now, so a suspension stops it) and operator.
SELECT a.id AS account_id, a.name AS account_name, a.status AS account_status, a.hipaa AS account_hipaa, o.id AS operator_id, o.name AS operator_name
FROM accounts a JOIN operators o ON o.account_id = a.id AND o.id = $2
WHERE a.id = $1;

-- name: contactForTest
SELECT id, email, name, attributes FROM contacts WHERE account_id = $1 AND email = $2;

-- name: ledgerPage
-- The ledger of a campaign in contact order, with each recipient's address and message status.
SELECT r.contact_id, c.email, r.outcome, r.refusal, r.message_id, m.status, r.created_at
FROM campaign_recipients r
LEFT JOIN LATERAL (SELECT email FROM contacts c WHERE c.id = r.contact_id AND c.account_id = $1 OFFSET 0) c ON true
LEFT JOIN LATERAL (SELECT status FROM messages m WHERE m.id = r.message_id OFFSET 0) m ON true
WHERE r.campaign_seq = $2 AND r.contact_id > $3
ORDER BY r.contact_id
LIMIT $4;
