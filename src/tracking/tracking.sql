-- name: recordEngagements
-- A batch of OPENED and CLICKED events ($1, in arrival order i). Each says whether it is the
-- first of its type for its message (for a click: of that URL), counting the earlier ones in the
-- batch. Returns, for each hit, whether its message exists (nothing is recorded otherwise).
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(i integer, message_id text, type text, at timestamptz, details jsonb, url text)
), hits AS (
  -- One index look-up per hit (LATERAL with OFFSET 0 is never turned into a join): against the
  -- planner's guess of a hundred input rows, a join hashed the whole messages table.
  SELECT r.*, m.account_id FROM r CROSS JOIN LATERAL (SELECT m.account_id FROM messages m WHERE m.id = r.message_id OFFSET 0) m
), inserted AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT h.message_id, h.account_id, h.type, h.at, h.details || jsonb_build_object('first',
    row_number() OVER (PARTITION BY h.message_id, h.type, h.url ORDER BY h.i) = 1 AND NOT EXISTS (
      SELECT 1 FROM message_events e
      WHERE e.message_id = h.message_id AND e.type = h.type AND (h.url IS NULL OR e.details->>'url' = h.url)))
  FROM hits h
  ORDER BY h.i
)
SELECT i FROM hits;

-- name: unsubscribe
-- Unsubscribes the recipient of message $1: one UNSUBSCRIBED event (a repeated request adds
-- none) and a suppression entry for the account (an earlier entry, of any reason, is kept). A
-- campaign's message also unsubscribes its contact from the campaign's lists (docs/CAMPAIGNS.md).
WITH m AS (SELECT id, account_id, lower(to_address) AS address, campaign_id FROM messages WHERE id = $1),
left_lists AS (
  UPDATE list_members lm SET status = 'unsubscribed', unsubscribed_at = $2, updated_at = $2
  FROM m
  JOIN campaigns c ON c.id = m.campaign_id AND c.account_id = m.account_id
  JOIN lists l ON l.account_id = c.account_id AND l.id = ANY (c.lists)
  JOIN contacts k ON k.account_id = m.account_id AND k.email = m.address
  WHERE lm.list_seq = l.seq AND lm.contact_id = k.id AND lm.status <> 'unsubscribed'
  RETURNING 1
),
s AS (
  INSERT INTO suppressions (account_id, address, reason, message_id, created_at)
  SELECT account_id, address, 'UNSUBSCRIBE', id, $2 FROM m
  ON CONFLICT (account_id, address) DO NOTHING
  RETURNING address
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT m.id, m.account_id, 'UNSUBSCRIBED', $2, $3::jsonb FROM m
  WHERE NOT EXISTS (SELECT 1 FROM message_events x WHERE x.message_id = m.id AND x.type = 'UNSUBSCRIBED')
  RETURNING id
)
SELECT (SELECT count(*) FROM m)::int AS found, (SELECT count(*) FROM e)::int AS recorded, (SELECT count(*) FROM s)::int AS suppressed;
