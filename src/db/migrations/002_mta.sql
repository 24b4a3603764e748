-- Outbound MTA (issue 3).

-- Recipients still to be delivered after a partial result (some accepted, some deferred);
-- NULL means every recipient of the envelope.
ALTER TABLE queue ADD COLUMN pending_recipients jsonb;

-- Optional Ed25519 key (RFC 8463), signed beside the RSA signature.
ALTER TABLE domains ADD COLUMN dkim_ed25519_selector text;
ALTER TABLE domains ADD COLUMN dkim_ed25519_private_key text;
ALTER TABLE domains ADD COLUMN dkim_ed25519_public_key text;
