-- name: insertDomain
INSERT INTO domains (account_id, domain, verified, dkim_selector, dkim_private_key, dkim_public_key,
                     dkim_ed25519_selector, dkim_ed25519_private_key, dkim_ed25519_public_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (account_id, domain) DO UPDATE SET verified = domains.verified OR EXCLUDED.verified,
  dkim_ed25519_selector = COALESCE(domains.dkim_ed25519_selector, EXCLUDED.dkim_ed25519_selector),
  dkim_ed25519_private_key = COALESCE(domains.dkim_ed25519_private_key, EXCLUDED.dkim_ed25519_private_key),
  dkim_ed25519_public_key = COALESCE(domains.dkim_ed25519_public_key, EXCLUDED.dkim_ed25519_public_key)
RETURNING id, domain, verified, dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key, created_at;

-- name: listDomains
SELECT id, domain, verified, dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key, created_at FROM domains WHERE account_id = $1 ORDER BY domain;

-- name: verifiedDomain
SELECT 1 FROM domains WHERE account_id = $1 AND domain = $2 AND verified;

-- name: signingKey
SELECT domain, dkim_selector, dkim_private_key, dkim_ed25519_selector, dkim_ed25519_private_key FROM domains WHERE account_id = $1 AND domain = $2;
