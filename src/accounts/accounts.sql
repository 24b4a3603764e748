-- name: newAccountId
-- Taken before the insert: the callback secret is sealed for its account (src/secrets/contexts.ts).
SELECT nextval(pg_get_serial_sequence('accounts', 'id')) AS id;

-- name: insertAccount
INSERT INTO accounts (id, name, callback_secret, hipaa) VALUES ($1, $2, $3, $4)
RETURNING id, name, status, hipaa, created_at;

-- name: accountByName
SELECT id, name, status, hipaa, created_at FROM accounts WHERE name = $1;

-- name: listAccounts
SELECT a.id, a.name, a.status, a.hipaa, a.created_at,
       (SELECT count(*) FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL) AS active_keys
FROM accounts a ORDER BY a.id;

-- name: setAccountStatus
-- An operator's suspension says so; reinstating goes through reputation.sql (a new window).
UPDATE accounts SET status = $2,
  suspended_reason = CASE WHEN $2 = 'suspended' THEN 'suspended by an operator of the installation' END,
  suspended_at = CASE WHEN $2 = 'suspended' THEN now() END
WHERE name = $1 RETURNING id, name, status;

-- name: insertOperator
INSERT INTO operators (account_id, name) VALUES ($1, $2)
ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name
RETURNING id, name;

-- name: insertKey
INSERT INTO api_keys (account_id, operator_id, name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4, $5, $6::text[])
RETURNING id, prefix, name, scopes, created_at;

-- name: keyByHash
SELECT k.id AS key_id, k.account_id, a.name AS account_name, a.status AS account_status, a.hipaa AS account_hipaa,
       k.operator_id, o.name AS operator_name, k.scopes
FROM api_keys k
JOIN accounts a ON a.id = k.account_id
JOIN operators o ON o.id = k.operator_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL;

-- name: keyHashExists
SELECT 1 FROM api_keys WHERE key_hash = $1;

-- name: listKeys
-- A page of the account's keys by id ($2: the last id of the previous page).
SELECT k.id, k.prefix, k.name, o.name AS operator, k.scopes, k.created_at, k.revoked_at
FROM api_keys k JOIN operators o ON o.id = k.operator_id
WHERE k.account_id = $1 AND k.id > $2 ORDER BY k.id LIMIT $3;

-- name: revokeKey
UPDATE api_keys SET revoked_at = now() WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id;

-- name: accountById
SELECT id, name, status, hipaa, callback_secret, track_opens, track_clicks, created_at FROM accounts WHERE id = $1;

-- name: setTrackingDefaults
-- What the account tracks when a message does not say; a null leaves that setting as it is.
UPDATE accounts SET track_opens = COALESCE($2, track_opens), track_clicks = COALESCE($3, track_clicks) WHERE id = $1;

-- name: accountHasHadKeys
SELECT 1 FROM api_keys WHERE account_id = $1 LIMIT 1;
