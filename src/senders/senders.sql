-- name: upsertSender
-- A sender asked for again keeps its row (and its verification, if it has one).
INSERT INTO senders (account_id, email, verified_at, verified_by, created_at)
VALUES ($1, $2, CASE WHEN $3::boolean THEN $4::timestamptz END, CASE WHEN $3::boolean THEN 'domain' END, $4)
ON CONFLICT (account_id, email) DO UPDATE SET
  verified_at = COALESCE(senders.verified_at, EXCLUDED.verified_at),
  verified_by = COALESCE(senders.verified_by, EXCLUDED.verified_by)
RETURNING id, email, verified_at, verified_by, confirmation_sent_at, created_at;

-- name: setConfirmation
UPDATE senders SET confirmation_nonce = $3, confirmation_sent_at = $4, confirmation_message = $5
WHERE account_id = $1 AND id = $2;

-- name: listSenders
SELECT id, email, verified_at, verified_by, confirmation_sent_at, created_at FROM senders WHERE account_id = $1 ORDER BY email;

-- name: getSender
SELECT id, email, verified_at, verified_by, confirmation_sent_at, created_at FROM senders WHERE account_id = $1 AND id = $2;

-- name: deleteSender
DELETE FROM senders WHERE account_id = $1 AND id = $2 RETURNING id;

-- name: confirm
-- Only the newest link (its nonce) confirms; a confirmed sender stays confirmed once.
UPDATE senders SET verified_at = COALESCE(verified_at, $3), verified_by = COALESCE(verified_by, 'link'), confirmation_nonce = NULL
WHERE id = $1 AND confirmation_nonce = $2
RETURNING id, account_id, email, verified_at;

-- name: senderById
SELECT id, account_id, email, verified_at, confirmation_nonce FROM senders WHERE id = $1;
