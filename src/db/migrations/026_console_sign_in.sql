-- Operators sign in to the web console with a password (issue 18, SPEC section 13). An operator
-- without a password cannot sign in (API keys are unaffected). `admin` operators may act on
-- every account. Repeated failures lock the operator out for a while (failed_logins, locked_until).
ALTER TABLE operators ADD COLUMN password_hash text;
ALTER TABLE operators ADD COLUMN role text NOT NULL DEFAULT 'operator' CHECK (role IN ('operator', 'admin'));
ALTER TABLE operators ADD COLUMN failed_logins integer NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN locked_until timestamptz;

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a copy of
-- the table signs no one in. `account_id` is the account the session acts on: the operator's own,
-- or for an admin the one it switched to.
CREATE TABLE sessions (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash     text NOT NULL UNIQUE,
  operator_id    bigint NOT NULL REFERENCES operators (id),
  account_id     bigint NOT NULL REFERENCES accounts (id),
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  remote_address text
);
CREATE INDEX sessions_operator ON sessions (operator_id) WHERE revoked_at IS NULL;
