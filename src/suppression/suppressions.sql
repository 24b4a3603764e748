-- name: listSuppressions
-- Newest first; the cursor is the last row of the previous page (created_at, address).
SELECT address, reason, message_id, created_at FROM suppressions
WHERE account_id = $1
  AND ($2::text IS NULL OR reason = $2)
  AND ($3::timestamptz IS NULL OR (created_at, address) < ($3, $4::text))
ORDER BY created_at DESC, address DESC
LIMIT $5;

-- name: getSuppression
SELECT address, reason, message_id, created_at FROM suppressions WHERE account_id = $1 AND address = $2;

-- name: lookupSuppressions
-- Which of several accounts' addresses are suppressed: $1 a JSON array of [accountId, address].
SELECT s.account_id, s.address, s.reason, s.message_id, s.created_at
FROM jsonb_array_elements($1::jsonb) q
CROSS JOIN LATERAL (
  -- One index look-up per address (OFFSET 0 keeps it from being turned into a hash join over the whole list).
  SELECT * FROM suppressions s WHERE s.account_id = (q->>0)::bigint AND s.address = q->>1 OFFSET 0
) s;

-- name: addSuppressions
-- An address already listed keeps its first entry (its reason and source message), so that an
-- import cannot rewrite why a bounced address was suppressed. Returns the rows it added.
INSERT INTO suppressions (account_id, address, reason, message_id, created_at)
SELECT $1, s.address, s.reason, s.message_id, COALESCE(s.created_at, $3)
FROM jsonb_to_recordset($2::jsonb) AS s(address text, reason text, message_id text, created_at timestamptz)
ON CONFLICT (account_id, address) DO NOTHING
RETURNING address;

-- name: deleteSuppression
DELETE FROM suppressions WHERE account_id = $1 AND address = $2 RETURNING address;

-- name: exportSuppressions
SELECT address, reason, message_id, created_at FROM suppressions WHERE account_id = $1 ORDER BY address;

-- name: addressesOfAccount
-- The whole list of one account, for the in-memory copy of the SMTP door; $2 caps it.
SELECT address FROM suppressions WHERE account_id = $1 LIMIT $2;
