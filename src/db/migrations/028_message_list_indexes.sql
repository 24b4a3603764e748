-- The console's message list pages through a filter's matches newest first (ORDER BY id DESC,
-- id < cursor; src/sending/messages.sql listMessages). These three indexes ended at the filtered
-- column, so every page read all of a filter's matches and sorted them, or walked down the id
-- index past everything else: a clientId with 20,000 messages cost 12 ms at a million messages,
-- ten times that at ten million. With the id last, a page is the next 50 entries of the index.
-- (messages_by_campaign has had its id since migration 018.)
DROP INDEX messages_by_to;
CREATE INDEX messages_by_to ON messages (account_id, to_address, id);
DROP INDEX messages_by_external_id;
CREATE INDEX messages_by_external_id ON messages (account_id, external_id, id) WHERE external_id IS NOT NULL;
DROP INDEX messages_by_client_id;
CREATE INDEX messages_by_client_id ON messages (account_id, client_id, id) WHERE client_id IS NOT NULL;
-- The rebuild holds the table's write lock while it runs (about a minute at ten million messages
-- on PostgreSQL): an upgrade of a large installation pauses sending for that long.
