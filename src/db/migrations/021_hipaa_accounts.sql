-- HIPAA accounts (issue 17, docs/HIPAA.md): served only on the HIPAA listeners
-- (MAILROOM_HIPAA_HTTP_PORT, MAILROOM_HIPAA_SMTP_PORT), and those listeners serve no other
-- account. Set when the account is created (`mailroom accounts create NAME --hipaa`), never
-- changed by the API.
ALTER TABLE accounts ADD COLUMN hipaa boolean NOT NULL DEFAULT false;
