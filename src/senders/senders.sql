-- name: upsertSender
-- A sender asked for again keeps its row (and its verification, if it has one).
INSERT INTO senders (account_id, email, verified_at, verified_by, created_at)
VALUES ($1, $2, CASE WHEN $3::boolean THEN $4::timestamptz END, CASE WHEN $3::boolean THEN 'domain' END, $4)
ON CONFLICT (account_id, email) DO UPDATE SET
  verified_at = COALESCE(senders.verified_at, EXCLUDED.verified_at),
  verified_by = COALESCE(senders.verified_by, EXCLUDED.verified_by)
RETURNING id, email, verified_at, verified_by, confirmation_sent_at, created_at;

-- name: setConfirmation
UPDATE senders SET confirmation_nonce = $3, confirmation_sent_at = $4, confirmation_message = $5, confirmation_transport = $6
WHERE account_id = $1 AND id = $2;

-- name: listSenders
SELECT id, email, verified_at, verified_by, confirmation_sent_at, created_at FROM senders WHERE account_id = $1 ORDER BY email;

-- name: getSender
SELECT id, email, verified_at, verified_by, confirmation_sent_at, created_at FROM senders WHERE account_id = $1 AND id = $2;

-- name: deleteSender
DELETE FROM senders WHERE account_id = $1 AND id = $2 RETURNING id;

-- name: confirm
-- Only the newest link (its nonce) confirms; a confirmed sender stays confirmed once. A link that
-- was mailed into the sandbox catcher (the transport of the time was the sandbox, or the mail
-- was caught there) confirms as 'sandbox', which counts only while the sandbox is the transport;
-- a real link clicked later makes it a 'link' confirmation.
UPDATE senders s SET
  verified_at = CASE WHEN s.verified_by IN ('link', 'domain') THEN s.verified_at ELSE $3 END,
  verified_by = CASE
    WHEN s.verified_by IN ('link', 'domain') THEN s.verified_by
    WHEN s.confirmation_transport = 'sandbox'
      OR EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = s.confirmation_message AND e.details->>'transport' = 'sandbox')
      OR EXISTS (SELECT 1 FROM sandbox_messages c WHERE c.account_id = s.account_id AND c.message_id = s.confirmation_message)
      THEN 'sandbox'
    ELSE 'link' END,
  confirmation_nonce = NULL
WHERE s.id = $1 AND s.confirmation_nonce = $2
RETURNING s.id, s.account_id, s.email, s.verified_at, s.verified_by;

-- name: senderById
SELECT id, account_id, email, verified_at, verified_by, confirmation_nonce FROM senders WHERE id = $1;
