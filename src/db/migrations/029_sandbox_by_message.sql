-- GET /sandbox/messages/{id} also takes the email's id (issue 19): the newest caught copy of a
-- message is found by (account, message id), the newest first, without reading the account's
-- whole catcher (which a load test fills with millions of rows).
CREATE INDEX sandbox_by_message ON sandbox_messages (account_id, message_id, id DESC);
