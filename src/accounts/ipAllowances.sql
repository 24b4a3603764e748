-- name: allowanceConflicts
-- What of another account overlaps the range: its allowances and its live IP credentials.
SELECT 'allowance' AS kind, NULL::bigint AS id, x.ip_range::text AS range, a.name AS account
FROM ip_allowances x JOIN accounts a ON a.id = x.account_id
WHERE x.account_id <> $1 AND x.ip_range && $2::cidr
UNION ALL
SELECT 'credential', c.id, c.ip_range::text, a.name
FROM smtp_credentials c JOIN accounts a ON a.id = c.account_id
WHERE c.kind = 'ip' AND c.revoked_at IS NULL AND c.account_id <> $1 AND c.ip_range && $2::cidr
ORDER BY 4, 3;

-- name: insertAllowance
INSERT INTO ip_allowances (account_id, ip_range) VALUES ($1, $2::cidr)
ON CONFLICT (account_id, ip_range) DO NOTHING
RETURNING id;

-- name: deleteAllowance
DELETE FROM ip_allowances WHERE account_id = $1 AND ip_range = $2::cidr RETURNING id;

-- name: revokeUncovered
-- The account's live IP credentials inside the range that no allowance it keeps covers.
UPDATE smtp_credentials c SET revoked_at = now()
WHERE c.account_id = $1 AND c.kind = 'ip' AND c.revoked_at IS NULL AND c.ip_range <<= $2::cidr
  AND NOT EXISTS (SELECT 1 FROM ip_allowances x WHERE x.account_id = $1 AND x.ip_range >>= c.ip_range)
RETURNING c.id, c.address;

-- name: listAllowances
SELECT ip_range::text AS range, created_at FROM ip_allowances WHERE account_id = $1 ORDER BY ip_range;

-- name: listIpCredentials
SELECT c.id, c.address, c.name,
       EXISTS (SELECT 1 FROM ip_allowances x WHERE x.account_id = c.account_id AND x.ip_range >>= c.ip_range) AS allowed
FROM smtp_credentials c
WHERE c.account_id = $1 AND c.kind = 'ip' AND c.revoked_at IS NULL
ORDER BY c.id;
