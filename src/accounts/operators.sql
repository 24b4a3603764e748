-- name: setPassword
-- Sets an operator's password (and role, when $4 is not null), clears a lock-out, and revokes the
-- operator's sessions: a new password signs out every browser that signed in with the old one.
WITH o AS (
  UPDATE operators SET password_hash = $3, role = COALESCE($4, role), failed_logins = 0, locked_until = NULL
  WHERE account_id = $1 AND name = $2
  RETURNING id, name, role
), revoked AS (
  UPDATE sessions s SET revoked_at = now() FROM o WHERE s.operator_id = o.id AND s.revoked_at IS NULL
)
SELECT id, name, role FROM o;

-- name: signInCandidate
-- The operator a sign-in names, with its account.
SELECT o.id, o.name, o.role, o.password_hash, o.failed_logins, o.locked_until,
       a.id AS account_id, a.name AS account_name, a.hipaa AS account_hipaa
FROM operators o JOIN accounts a ON a.id = o.account_id
WHERE a.name = $1 AND o.name = $2;

-- name: failedSignIn
-- One more failure; at $2 failures in a row the operator is locked until $3, and the count starts again.
UPDATE operators SET
  failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
  locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3::timestamptz ELSE locked_until END
WHERE id = $1
RETURNING locked_until;

-- name: goodSignIn
UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE id = $1;

-- name: listOperators
SELECT o.name, o.role, o.password_hash IS NOT NULL AS can_sign_in, o.locked_until, o.created_at
FROM operators o WHERE o.account_id = $1 ORDER BY o.name;

-- name: setRole
UPDATE operators SET role = $3 WHERE account_id = $1 AND name = $2;
