-- Issue 15 (6e, 6h).

-- A sender confirmed through a link that was mailed while the sandbox transport was in use: the
-- link landed in the account's own catcher, so the account proved nothing about the address.
-- Such a confirmation (verified_by 'sandbox') counts only while nothing leaves the machine.
-- `confirmation_transport` is the transport in use when the newest link was mailed.
ALTER TABLE senders DROP CONSTRAINT senders_verified_by_check;
ALTER TABLE senders ADD CONSTRAINT senders_verified_by_check CHECK (verified_by IN ('link', 'domain', 'sandbox'));
ALTER TABLE senders ADD COLUMN confirmation_transport text;

-- Links confirmed before this migration whose mail went to the catcher.
UPDATE senders s SET verified_by = 'sandbox'
WHERE s.verified_by = 'link' AND s.confirmation_message IS NOT NULL AND (
  EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = s.confirmation_message AND e.details->>'transport' = 'sandbox')
  OR EXISTS (SELECT 1 FROM sandbox_messages c WHERE c.account_id = s.account_id AND c.message_id = s.confirmation_message));


-- The bytes of a waiting message's content (its body, for one submitted over SMTP), so that a
-- worker claims no more at once than it can hold; NULL for rows queued before this migration.
ALTER TABLE queue ADD COLUMN size integer;
