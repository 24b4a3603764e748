-- name: accountPolicy
SELECT allow_role_addresses, check_recipient_domains, rate_per_second, rate_per_day FROM accounts WHERE id = $1;

-- name: setAccountPolicy
-- A null leaves that setting as it is.
UPDATE accounts SET allow_role_addresses = COALESCE($2, allow_role_addresses),
  check_recipient_domains = COALESCE($3, check_recipient_domains)
WHERE id = $1;

-- name: setRateLimits
-- -1 returns the account to the installation's default (NULL); a null leaves it as it is.
UPDATE accounts SET
  rate_per_second = CASE WHEN $2::int = -1 THEN NULL ELSE COALESCE($2, rate_per_second) END,
  rate_per_day = CASE WHEN $3::int = -1 THEN NULL ELSE COALESCE($3, rate_per_day) END
WHERE name = $1 RETURNING id, rate_per_second, rate_per_day;

-- name: senderAllowed
-- A From address may be used when it was confirmed, or when its domain is a verified domain of
-- the account (see isVerifiedDomain for the grace of a domain whose check failed). A confirmation
-- through the sandbox catcher counts only while $3 (the sandbox is the transport).
SELECT 1 FROM senders WHERE account_id = $1 AND email = $2 AND verified_at IS NOT NULL AND (verified_by <> 'sandbox' OR $3::boolean);
