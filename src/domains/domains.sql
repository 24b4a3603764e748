-- name: insertDomain
-- addDomain (the CLI, tests): adding a domain again keeps its keys; `verified` is an admin's word
-- (verification 'admin'), which DNS checks report on but never turn into 'failed'.
INSERT INTO domains (account_id, domain, verified, status, verification, verified_at, dkim_selector, dkim_private_key, dkim_public_key,
                     dkim_ed25519_selector, dkim_ed25519_private_key, dkim_ed25519_public_key)
VALUES ($1, $2, $3, CASE WHEN $3 THEN 'verified' ELSE 'pending' END, CASE WHEN $3 THEN 'admin' ELSE 'dns' END,
        CASE WHEN $3 THEN $10::timestamptz END, $4, $5, $6, $7, $8, $9)
ON CONFLICT (account_id, domain) DO UPDATE SET verified = domains.verified OR EXCLUDED.verified,
  status = CASE WHEN EXCLUDED.verified AND domains.status <> 'verified' THEN 'verified' ELSE domains.status END,
  verification = CASE WHEN EXCLUDED.verified AND domains.status <> 'verified' THEN 'admin' ELSE domains.verification END,
  verified_at = CASE WHEN EXCLUDED.verified AND domains.status <> 'verified' THEN EXCLUDED.verified_at ELSE domains.verified_at END,
  failed_at = CASE WHEN EXCLUDED.verified THEN NULL ELSE domains.failed_at END,
  dkim_ed25519_selector = COALESCE(domains.dkim_ed25519_selector, EXCLUDED.dkim_ed25519_selector),
  dkim_ed25519_private_key = COALESCE(domains.dkim_ed25519_private_key, EXCLUDED.dkim_ed25519_private_key),
  dkim_ed25519_public_key = COALESCE(domains.dkim_ed25519_public_key, EXCLUDED.dkim_ed25519_public_key)
RETURNING id, account_id, domain, verified, status, verification, check_results, verified_at, failed_at, last_checked_at,
          dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key, created_at;

-- name: domainExists
SELECT id FROM domains WHERE account_id = $1 AND domain = $2;

-- name: createDomain
-- POST /domains: a domain the account already has is a conflict, not a new key.
INSERT INTO domains (account_id, domain, verified, dkim_selector, dkim_private_key, dkim_public_key,
                     dkim_ed25519_selector, dkim_ed25519_private_key, dkim_ed25519_public_key, created_at)
VALUES ($1, $2, false, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (account_id, domain) DO NOTHING
RETURNING id, account_id, domain, verified, status, verification, check_results, verified_at, failed_at, last_checked_at,
          dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key, created_at;

-- name: listDomains
SELECT id, account_id, domain, verified, status, verification, check_results, verified_at, failed_at, last_checked_at,
       dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key, created_at
FROM domains WHERE account_id = $1 ORDER BY domain;

-- name: domainById
-- $1: the account, or NULL for the re-check job, which works across accounts.
SELECT id, account_id, domain, verified, status, verification, check_results, verified_at, failed_at, last_checked_at,
       dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key, created_at
FROM domains WHERE id = $2 AND ($1::bigint IS NULL OR account_id = $1);

-- name: keysOfDomains
-- The listed non-signing keys (never a private key): pending ones, and retiring ones until their date.
SELECT id, domain_id, selector, algorithm, state, public_key, created_at, retire_until
FROM domain_dkim_keys
WHERE domain_id = ANY ($1::bigint[]) AND (state = 'pending' OR retire_until > $2)
ORDER BY domain_id, state, algorithm DESC, id;

-- name: deleteDomain
DELETE FROM domains WHERE id = $2 AND account_id = $1 RETURNING id, domain;

-- name: verifiedDomain
-- May this domain send now: verified, or failed less than $4 hours ago (a DNS hiccup or a record
-- being moved does not stop all mail at once).
SELECT 1 FROM domains
WHERE account_id = $1 AND domain = $2
  AND (status = 'verified' OR (status = 'failed' AND failed_at > $3::timestamptz - make_interval(hours => $4::int)));

-- name: signingKey
-- The signing keys only: a rotation's next key and retiring keys are in domain_dkim_keys.
SELECT domain, verified, dkim_selector, dkim_private_key, dkim_ed25519_selector, dkim_ed25519_private_key FROM domains WHERE account_id = $1 AND domain = $2;

-- name: lockDomain
-- A rotation or a promotion changes the keys of one domain at a time.
SELECT id, dkim_selector, dkim_public_key, dkim_ed25519_selector, dkim_ed25519_public_key
FROM domains WHERE id = $2 AND ($1::bigint IS NULL OR account_id = $1) FOR UPDATE;

-- name: selectorsInUse
SELECT selector FROM domain_dkim_keys WHERE domain_id = $1 AND state = 'retiring' AND retire_until > $2;

-- name: deletePendingKeys
DELETE FROM domain_dkim_keys WHERE domain_id = $1 AND state = 'pending';

-- name: insertPendingKey
INSERT INTO domain_dkim_keys (domain_id, selector, algorithm, state, private_key, public_key, created_at)
VALUES ($1, $2, $3, 'pending', $4, $5, $6)
ON CONFLICT (domain_id, selector) DO UPDATE SET algorithm = EXCLUDED.algorithm, state = 'pending', private_key = EXCLUDED.private_key,
  public_key = EXCLUDED.public_key, created_at = EXCLUDED.created_at, retire_until = NULL;

-- name: pendingKeys
SELECT id, selector, algorithm, private_key, public_key FROM domain_dkim_keys WHERE domain_id = $1 AND state = 'pending' ORDER BY id;

-- name: retireKey
INSERT INTO domain_dkim_keys (domain_id, selector, algorithm, state, private_key, public_key, created_at, retire_until)
VALUES ($1, $2, $3, 'retiring', NULL, $4, $5, $6)
ON CONFLICT (domain_id, selector) DO UPDATE SET algorithm = EXCLUDED.algorithm, state = 'retiring', private_key = NULL,
  public_key = EXCLUDED.public_key, retire_until = EXCLUDED.retire_until;

-- name: activateKeys
-- The published next key becomes the signing key ($2.. NULL: that algorithm keeps its key).
UPDATE domains SET
  dkim_selector = COALESCE($2, dkim_selector), dkim_private_key = COALESCE($3, dkim_private_key), dkim_public_key = COALESCE($4, dkim_public_key),
  dkim_ed25519_selector = COALESCE($5, dkim_ed25519_selector), dkim_ed25519_private_key = COALESCE($6, dkim_ed25519_private_key),
  dkim_ed25519_public_key = COALESCE($7, dkim_ed25519_public_key)
WHERE id = $1;

-- name: dropRetiredKeys
DELETE FROM domain_dkim_keys WHERE state = 'retiring' AND retire_until <= $1 RETURNING id;

-- name: recordCheck
-- Stores a check and moves the status, under the row's lock so that two checks at once (the
-- daily job, an operator's verify) make one transition and one event:
--   every required record verified ($3)       -> verified (and DNS-verified from now on);
--   a required record missing or wrong ($4)   -> failed, if it was verified by DNS;
--   otherwise (a DNS error, or never verified) -> unchanged.
-- A transition to verified or failed is an account event; $6 is its details.
WITH old AS (
  SELECT id, status, verification FROM domains WHERE id = $1 FOR UPDATE
), next AS (
  SELECT id, status AS previous_status,
         CASE WHEN $3::boolean THEN 'verified'
              WHEN $4::boolean AND status = 'verified' AND verification = 'dns' THEN 'failed'
              ELSE status END AS status
  FROM old
), updated AS (
  UPDATE domains d SET
    status = n.status,
    verified = n.status = 'verified',
    verification = CASE WHEN $3::boolean THEN 'dns' ELSE d.verification END,
    verified_at = CASE WHEN n.status = 'verified' AND n.previous_status <> 'verified' THEN $5::timestamptz ELSE d.verified_at END,
    failed_at = CASE WHEN n.status <> 'failed' THEN NULL WHEN n.previous_status <> 'failed' THEN $5::timestamptz ELSE d.failed_at END,
    check_results = $2::jsonb,
    last_checked_at = $5::timestamptz
  FROM next n
  WHERE d.id = n.id
  RETURNING d.id, d.account_id, d.domain, d.verified, d.status, d.verification, d.check_results, d.verified_at, d.failed_at, d.last_checked_at,
            d.dkim_selector, d.dkim_public_key, d.dkim_ed25519_selector, d.dkim_ed25519_public_key, d.created_at, n.previous_status
), event AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT NULL, account_id, CASE status WHEN 'verified' THEN 'DOMAIN_VERIFIED' ELSE 'DOMAIN_VERIFICATION_FAILED' END, $5::timestamptz,
         (CASE status WHEN 'verified' THEN $6::jsonb - 'records' ELSE $6::jsonb END) || jsonb_build_object('previousStatus', previous_status)
  FROM updated
  WHERE status <> previous_status AND status IN ('verified', 'failed')
  RETURNING id
)
SELECT * FROM updated;

-- name: claimRecheck
-- The re-check job takes the domains checked longest ago; stamping last_checked_at is the claim,
-- so that several workers share the work (SKIP LOCKED) and a crashed check waits a period.
UPDATE domains SET last_checked_at = $1
WHERE id IN (
  SELECT id FROM domains
  WHERE status IN ('verified', 'failed') AND verification = 'dns' AND (last_checked_at IS NULL OR last_checked_at <= $2)
  ORDER BY last_checked_at NULLS FIRST, id
  LIMIT $3
  FOR UPDATE SKIP LOCKED
)
RETURNING id, account_id, domain;
