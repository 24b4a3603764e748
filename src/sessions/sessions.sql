-- name: insertSession
INSERT INTO sessions (token_hash, operator_id, account_id, created_at, expires_at, remote_address)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: sessionByHash
-- A live session and who it is: its operator, and the account it acts on.
SELECT s.id, s.expires_at, o.id AS operator_id, o.name AS operator_name, o.role,
       a.id AS account_id, a.name AS account_name, a.status AS account_status, a.hipaa AS account_hipaa
FROM sessions s
JOIN operators o ON o.id = s.operator_id
JOIN accounts a ON a.id = s.account_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2;

-- name: revokeSession
UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id;

-- name: switchAccount
-- An admin's session acts on another account from now on (never a HIPAA one: the console does
-- not serve them). Returns nothing when there is no such account.
UPDATE sessions s SET account_id = a.id
FROM accounts a
WHERE s.id = $1 AND s.revoked_at IS NULL AND a.name = $2 AND NOT a.hipaa
RETURNING a.name;
