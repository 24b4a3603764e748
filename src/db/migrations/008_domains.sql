-- Domain authentication (SPEC section 7, docs/DOMAINS.md): the state of each domain's DNS check,
-- and the DKIM keys that are not the signing one.

-- pending: never verified; verified; failed: was verified, then a check found a required record
-- missing or wrong (the domain may still send for a grace, see isVerifiedDomain).
ALTER TABLE domains ADD COLUMN status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'failed'));
-- dns: the status follows the checks; admin: verified by an installation admin without DNS
-- (`mailroom domains add --verified`), which checks report on but never fail.
ALTER TABLE domains ADD COLUMN verification text NOT NULL DEFAULT 'dns' CHECK (verification IN ('dns', 'admin'));
-- The last check of each record: [{type, name, value, status, reason}].
ALTER TABLE domains ADD COLUMN check_results jsonb NOT NULL DEFAULT '[]';
ALTER TABLE domains ADD COLUMN verified_at timestamptz;
ALTER TABLE domains ADD COLUMN failed_at timestamptz;
ALTER TABLE domains ADD COLUMN last_checked_at timestamptz;
-- Until now only an admin could verify a domain. `verified` stays, kept equal to
-- status = 'verified', for readers written before `status`.
UPDATE domains SET status = 'verified', verification = 'admin', verified_at = created_at WHERE verified;
CREATE INDEX domains_recheck ON domains (last_checked_at) WHERE status IN ('verified', 'failed') AND verification = 'dns';

-- The domains row holds the signing key (dkim_selector, dkim_private_key, ...: the one row the
-- signer reads per message). Here: a rotation's next key, waiting for its record to be published
-- (pending), and the keys it replaced, listed until retire_until so that their records stay
-- published while mail signed with them is still in flight (retiring).
CREATE TABLE domain_dkim_keys (
  id           bigserial PRIMARY KEY,
  domain_id    bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
  selector     text NOT NULL,
  algorithm    text NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
  state        text NOT NULL CHECK (state IN ('pending', 'retiring')),
  -- Only a pending key keeps it: a retiring key never signs again.
  private_key  text,
  public_key   text NOT NULL,
  created_at   timestamptz NOT NULL,
  retire_until timestamptz,
  UNIQUE (domain_id, selector)
);
