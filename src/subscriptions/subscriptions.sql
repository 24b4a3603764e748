-- The public side of lists: sign-ups through POST /subscribe/{listToken} and their confirmation.
-- A list is found by its unguessable token; a membership by (list seq, contact id).

-- name: listByToken
SELECT l.id, l.seq, l.account_id, l.name, l.opt_in, l.from_address, l.from_name,
       a.name AS account_name, a.status AS account_status, a.hipaa AS account_hipaa,
       (SELECT o.id FROM operators o WHERE o.account_id = l.account_id ORDER BY o.id LIMIT 1) AS operator_id
FROM lists l JOIN accounts a ON a.id = l.account_id
WHERE l.token = $1;

-- name: signUpContact
-- A sign-up's contact: created with the name given, or the contact as it is. A stranger's form
-- post never changes an existing contact's name or attributes.
WITH inserted AS (
  INSERT INTO contacts (account_id, email, name, attributes, created_at, updated_at)
  VALUES ($1, $2, $3, '{}', $4, $4)
  ON CONFLICT (account_id, email) DO NOTHING
  RETURNING id
)
SELECT id FROM inserted
UNION ALL
SELECT id FROM contacts WHERE account_id = $1 AND email = $2
LIMIT 1;

-- name: lockMembership
SELECT status, unsubscribed_at FROM list_members WHERE list_seq = $1 AND contact_id = $2 FOR UPDATE;

-- name: insertMember
-- $3: 'subscribed' (single opt-in) or 'unconfirmed' with the nonce $5 of the link being mailed.
INSERT INTO list_members (list_seq, contact_id, status, created_at, subscribed_at, updated_at, confirmation_nonce, confirmation_sent_at)
VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'subscribed' THEN $4::timestamptz END, $4, $5, CASE WHEN $5::text IS NOT NULL THEN $4::timestamptz END)
ON CONFLICT (list_seq, contact_id) DO NOTHING;

-- name: setConfirmation
-- A new link for a member who is not subscribed (unconfirmed, or unsubscribed and signing up
-- again): its status stays as it is until the link is followed.
UPDATE list_members SET confirmation_nonce = $3, confirmation_sent_at = $4
WHERE list_seq = $1 AND contact_id = $2 AND status <> 'subscribed';

-- name: confirm
-- The link's nonce must be the membership's latest, mailed after its last unsubscribe (a link
-- found later in the person's mailbox cannot subscribe them again; ">=": a sign-up in the same
-- millisecond as the unsubscribe came after it). Confirming twice finds the
-- member subscribed and changes nothing (the caller says "already").
UPDATE list_members SET status = 'subscribed', subscribed_at = $4, updated_at = $4
WHERE list_seq = $1 AND contact_id = $2 AND confirmation_nonce = $3 AND status <> 'subscribed'
  AND (unsubscribed_at IS NULL OR confirmation_sent_at >= unsubscribed_at)
RETURNING contact_id;

-- name: membershipByNonce
SELECT status FROM list_members WHERE list_seq = $1 AND contact_id = $2 AND confirmation_nonce = $3;

-- name: purgeUnconfirmed
-- Sign-ups never confirmed, older than the cut-off; at most $2 per statement.
DELETE FROM list_members WHERE (list_seq, contact_id) IN (
  SELECT list_seq, contact_id FROM list_members WHERE status = 'unconfirmed' AND created_at < $1 ORDER BY created_at LIMIT $2
)
RETURNING contact_id;

-- name: deleteOrphans
-- Contacts among $1 (those whose unconfirmed sign-up was just purged) with no list left: an
-- address nobody confirmed is not kept.
DELETE FROM contacts c WHERE c.id = ANY($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM list_members m WHERE m.contact_id = c.id);
