-- name: insertDomain
INSERT INTO domains (account_id, domain, verified, dkim_selector, dkim_private_key, dkim_public_key)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (account_id, domain) DO UPDATE SET verified = domains.verified OR EXCLUDED.verified
RETURNING id, domain, verified, dkim_selector, dkim_public_key, created_at;

-- name: listDomains
SELECT id, domain, verified, dkim_selector, dkim_public_key, created_at FROM domains WHERE account_id = $1 ORDER BY domain;

-- name: verifiedDomain
SELECT 1 FROM domains WHERE account_id = $1 AND domain = $2 AND verified;

-- name: signingKey
SELECT domain, dkim_selector, dkim_private_key FROM domains WHERE account_id = $1 AND domain = $2;
