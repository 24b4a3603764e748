-- name: lockIpSpace
-- One transaction-level lock for every change that claims address space (IP credentials and
-- allowances): without it two processes could each see a range free and each take it.
SELECT pg_advisory_xact_lock($1);

-- name: takenByAnotherAccount
-- Equal, containing or contained: && is "contains or is contained by" for inet/cidr.
SELECT EXISTS (
  SELECT 1 FROM smtp_credentials
  WHERE kind = 'ip' AND revoked_at IS NULL AND account_id <> $1 AND ip_range && $2::cidr
) OR EXISTS (
  SELECT 1 FROM ip_allowances WHERE account_id <> $1 AND ip_range && $2::cidr
) AS taken;

-- name: insideAllowance
SELECT EXISTS (
  SELECT 1 FROM ip_allowances WHERE account_id = $1 AND ip_range >>= $2::cidr
) AS allowed;
