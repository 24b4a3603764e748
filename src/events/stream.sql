-- name: eventsAfter
-- The account's events after id $2 but those in $5 (already sent), oldest first, each with its
-- message's identifiers (the event of SPEC section 4); $3 limits the types (empty: all).
SELECT e.id AS event_id, e.type, e.message_id, e.created_at AS event_at, e.details,
       m.external_id, m.client_id, m.alias, m.campaign_id, m.tags, m.to_address, m.from_address
FROM message_events e
LEFT JOIN messages m ON m.id = e.message_id
WHERE e.account_id = $1 AND e.id > $2 AND e.id <> ALL($5::bigint[])
  AND (cardinality($3::text[]) = 0 OR e.type = ANY($3::text[]))
ORDER BY e.id
LIMIT $4;

-- name: lastEventId
SELECT COALESCE(max(id), 0)::bigint AS id FROM message_events;
