-- IP credentials that cannot capture another account's mail (issue 15).

-- The range an IP credential's address covers, as PostgreSQL compares ranges (cidr, with the
-- inet operators && >>= <<=), or NULL when the text is not a range. IPv4-mapped IPv6
-- (::ffff:10.0.0.0/104) is the IPv4 range it is (10.0.0.0/8), as the SMTP listener matches such a
-- client. Never raises: it computes a generated column, and rows written before this migration
-- must not stop it (an address with a zone, "fe80::1%eth0/128", is no cidr).
CREATE FUNCTION ip_credential_range(address text) RETURNS cidr
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  range cidr;
BEGIN
  IF address IS NULL THEN
    RETURN NULL;
  END IF;
  range := network(address::inet);
  IF family(range) = 6 AND masklen(range) >= 96 AND range <<= '::ffff:0.0.0.0/96'::cidr THEN
    range := network(set_masklen('0.0.0.0'::inet + (range - '::ffff:0.0.0.0'::inet), masklen(range) - 96));
  END IF;
  RETURN range;
EXCEPTION WHEN data_exception THEN
  RETURN NULL;
END
$$;

-- Derived from address, so that rows written before this fix (or by hand) are compared too.
-- Live ranges of different accounts may already overlap here: the API refuses new overlaps and
-- the SMTP listener authenticates an address two accounts cover as nobody, so the data stays.
ALTER TABLE smtp_credentials ADD COLUMN ip_range cidr GENERATED ALWAYS AS (ip_credential_range(address)) STORED;
CREATE INDEX smtp_credentials_live_ip_ranges ON smtp_credentials USING gist (ip_range inet_ops)
  WHERE kind = 'ip' AND revoked_at IS NULL;

-- With MAILROOM_IP_CREDENTIALS=admin, the ranges inside which an account may add IP credentials,
-- given by an installation admin (`mailroom accounts allow-ip NAME RANGE`). Ranges of different
-- accounts never overlap (checked under the same advisory lock as credentials); in both modes an
-- allowance keeps other accounts' credentials out of its range.
CREATE TABLE ip_allowances (
  id         bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  ip_range   cidr NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, ip_range)
);
CREATE INDEX ip_allowances_by_range ON ip_allowances USING gist (ip_range inet_ops);
