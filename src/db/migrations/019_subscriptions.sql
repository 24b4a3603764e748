-- Double opt-in (issue 16, docs/CAMPAIGNS.md): the confirmation a membership was last mailed.
-- The nonce is in the mailed link (src/subscriptions/links.ts): a newer mailing replaces it, and
-- a link mailed before the member's last unsubscribe confirms nothing.
ALTER TABLE list_members ADD COLUMN confirmation_nonce text;
ALTER TABLE list_members ADD COLUMN confirmation_sent_at timestamptz;

-- Unconfirmed sign-ups by age, for the purge (MAILROOM_UNCONFIRMED_PURGE_DAYS).
CREATE INDEX list_members_unconfirmed ON list_members (created_at) WHERE status = 'unconfirmed';
