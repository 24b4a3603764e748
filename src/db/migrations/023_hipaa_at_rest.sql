-- Encryption at rest of HIPAA accounts' messages (issue 17, docs/HIPAA.md, src/hipaa/vault.ts).
-- A HIPAA message's row keeps its PHI encrypted under a data key of its own; the key is stored
-- here, wrapped (sealed) by the key ring. Deleting the row shreds the message: what remains is
-- ciphertext nobody can open, until the shredding sweep also clears it. `seq` pages the rotation
-- sweep (`mailroom keys rotate-encryption`) as the other sealed columns are paged by their ids.
CREATE TABLE message_keys (
  seq        bigserial NOT NULL UNIQUE,
  message_id text PRIMARY KEY,
  account_id bigint NOT NULL,
  wrapped    text NOT NULL
);

-- The account's index key (sealed): the HMAC key of the keyed hashes that stand in for its
-- messages' recipients, externalId and clientId, and its suppression entries.
ALTER TABLE accounts ADD COLUMN hipaa_index_key text;

-- No index on messages for the shredder: its work list is message_keys itself (the keys of
-- the messages not yet shredded). A partial index on content->>'kind' would read every
-- message's content, up to 13 MB, at each status update.
