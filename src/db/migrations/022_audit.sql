-- The audit log of HIPAA accounts (issue 17, docs/HIPAA.md): every API and SMTP action of the
-- account and every operator command that touches it, one row each, in a chain per account.
-- Each row's `hash` is an HMAC (key `key_id` of the installation's key ring, src/audit/chain.ts)
-- over its fields and the previous row's hash; `audit_heads` holds each chain's last position, so
-- a row edited, deleted, inserted or cut off the end is found by `mailroom audit verify`.
-- Append-only: a trigger refuses UPDATE and DELETE (whoever drops it still cannot forge the
-- chain without the key).
CREATE TABLE audit_log (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id     bigint NOT NULL,
  seq            bigint NOT NULL,
  at             timestamptz NOT NULL,
  actor          text NOT NULL,
  operator       text,
  action         text NOT NULL,
  target         text,
  remote_address text,
  outcome        text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
  status         text,
  key_id         text NOT NULL,
  prev_hash      text NOT NULL,
  hash           text NOT NULL,
  UNIQUE (account_id, seq)
);

CREATE TABLE audit_heads (
  account_id bigint PRIMARY KEY,
  seq        bigint NOT NULL,
  hash       text NOT NULL
);

CREATE FUNCTION mailroom_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION mailroom_audit_append_only();
