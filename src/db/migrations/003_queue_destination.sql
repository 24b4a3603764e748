-- Outbound MTA (issue 3): the destination the last attempt of a waiting message went to (its
-- domain's MX host set, or the relay), so that the queue can be viewed per destination as it
-- is shaped; NULL until a first attempt has resolved it.
ALTER TABLE queue ADD COLUMN destination text;
