-- SMTP API (issue 4).

-- Credentials for SMTP submission, besides API keys. `password`: a generated username and a
-- password shown once, stored as a scrypt hash (a password may be weaker than a key and is
-- checked once per connection, so the slow hash costs little). `ip`: an address or CIDR range
-- that may submit without AUTH, as Postal's IP credentials.
CREATE TABLE smtp_credentials (
  id            bigserial PRIMARY KEY,
  account_id    bigint NOT NULL REFERENCES accounts (id),
  operator_id   bigint NOT NULL REFERENCES operators (id),
  kind          text NOT NULL CHECK (kind IN ('password', 'ip')),
  name          text NOT NULL DEFAULT '',
  username      text UNIQUE,
  password_hash text,
  address       text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  CHECK ((kind = 'password') = (username IS NOT NULL AND password_hash IS NOT NULL)),
  CHECK ((kind = 'ip') = (address IS NOT NULL))
);
CREATE INDEX smtp_credentials_by_account ON smtp_credentials (account_id, id);

-- The bytes of a message submitted over SMTP, stored once however many recipients it has: each
-- recipient's message row points at it (messages.content->>'bodyId').
CREATE TABLE message_bodies (
  id         text PRIMARY KEY,
  account_id bigint NOT NULL,
  raw        bytea NOT NULL,
  created_at timestamptz NOT NULL
);
