-- Secrets encrypted at rest (issue 15): from this version on, these columns hold sealed values,
-- `enc:v1:<key id>:<iv>:<ciphertext and tag>` (AES-256-GCM, see src/crypto/sealed.ts), never
-- the secret itself. The values an earlier version stored in clear are sealed by the first
-- start after this migration (src/secrets/reseal.ts): that needs the key, which SQL has not.
-- A dump of these columns is useless without MAILROOM_ENCRYPTION_KEY.
COMMENT ON COLUMN accounts.callback_secret IS 'sealed (enc:v1:...): the Standard Webhooks secret of the account''s callbacks';
COMMENT ON COLUMN webhooks.secret IS 'sealed (enc:v1:...): the Standard Webhooks secret';
COMMENT ON COLUMN webhooks.previous_secret IS 'sealed (enc:v1:...): the secret before the last rotation';
COMMENT ON COLUMN domains.dkim_private_key IS 'sealed (enc:v1:...): the PKCS#8 PEM of the RSA DKIM key';
COMMENT ON COLUMN domains.dkim_ed25519_private_key IS 'sealed (enc:v1:...): the PKCS#8 PEM of the Ed25519 DKIM key';
COMMENT ON COLUMN domain_dkim_keys.private_key IS 'sealed (enc:v1:...): the PKCS#8 PEM of a rotation''s next key';
