-- name: insertPasswordCredential
INSERT INTO smtp_credentials (account_id, operator_id, kind, name, username, password_hash)
VALUES ($1, $2, 'password', $3, $4, $5)
RETURNING id, kind, name, username, address, created_at;

-- name: insertIpCredential
INSERT INTO smtp_credentials (account_id, operator_id, kind, name, address)
VALUES ($1, $2, 'ip', $3, $4)
RETURNING id, kind, name, username, address, created_at;

-- name: listCredentials
SELECT id, kind, name, username, address, created_at FROM smtp_credentials
WHERE account_id = $1 AND revoked_at IS NULL ORDER BY id;

-- name: revokeCredential
UPDATE smtp_credentials SET revoked_at = now()
WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id;

-- name: credentialByUsername
SELECT c.password_hash, c.account_id, a.name AS account_name, a.status AS account_status, a.hipaa AS account_hipaa,
       c.operator_id, o.name AS operator_name
FROM smtp_credentials c
JOIN accounts a ON a.id = c.account_id
JOIN operators o ON o.id = c.operator_id
WHERE c.username = $1 AND c.kind = 'password' AND c.revoked_at IS NULL;

-- name: ipCredentials
-- ip_range, not address: the range as compared everywhere (IPv4-mapped IPv6 as IPv4); NULL
-- (text that is no range, written before the rules) matches nobody.
SELECT c.ip_range::text AS range, c.account_id, a.name AS account_name, a.status AS account_status, a.hipaa AS account_hipaa,
       c.operator_id, o.name AS operator_name
FROM smtp_credentials c
JOIN accounts a ON a.id = c.account_id
JOIN operators o ON o.id = c.operator_id
WHERE c.kind = 'ip' AND c.revoked_at IS NULL AND c.ip_range IS NOT NULL
ORDER BY c.id;

-- name: overlappingIpCredentials
-- Live ranges of different accounts that overlap: the API refuses them, rows from before it may not.
SELECT c.id AS first, o.id AS second
FROM smtp_credentials c
JOIN smtp_credentials o ON o.id > c.id AND o.account_id <> c.account_id AND o.ip_range && c.ip_range
WHERE c.kind = 'ip' AND c.revoked_at IS NULL AND o.kind = 'ip' AND o.revoked_at IS NULL
ORDER BY c.id, o.id;
