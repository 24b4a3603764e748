-- Contacts and list members. Every query names the account, or a list seq the caller found by
-- (account, list id): another account's contact is simply not found.

-- name: upsertContacts
-- $2: JSON [{e: email, n: name or null, a: attributes or null}], each email once. A contact that
-- exists keeps its name unless one is given, and the attributes given are merged into its own
-- (when the merge would pass the bounds, the given set replaces them: see attributes.ts). A
-- contact this changes nothing in is not written at all (no new row version, updated_at kept),
-- which is what makes a second import of a file change nothing. Rows are inserted in address
-- order, so that two batches with common addresses lock them in the same order.
-- Returns the contacts inserted or changed, with their ids.
-- (The attributes are read as json and cast: jsonb within json_to_recordset parses them twice over.)
WITH input AS (
  SELECT * FROM json_to_recordset($2::json) AS i(e text, n text, a json)
)
INSERT INTO contacts AS c (account_id, email, name, attributes, created_at, updated_at)
SELECT $1, e, n, COALESCE(a::jsonb, '{}'), $3, $3 FROM input ORDER BY e
ON CONFLICT (account_id, email) DO UPDATE SET
  name = COALESCE(EXCLUDED.name, c.name),
  attributes = CASE WHEN mailroom_attributes_fit(c.attributes || EXCLUDED.attributes) THEN c.attributes || EXCLUDED.attributes ELSE EXCLUDED.attributes END,
  updated_at = EXCLUDED.updated_at
WHERE (EXCLUDED.name IS NOT NULL AND EXCLUDED.name IS DISTINCT FROM c.name) OR NOT c.attributes @> EXCLUDED.attributes
RETURNING c.id, c.email, (c.xmax = 0) AS inserted;

-- name: insertContactsAndMembers
-- What upsertContacts and upsertMembers do, in one statement, when none of the addresses is a
-- contact yet (an import's first run): plain INSERTs, a fifth cheaper than ON CONFLICT, and a
-- new contact cannot be a member of anything yet. $2: JSON [{e, n, a, s}] as both take. It fails
-- whole (unique violation) when one address is a contact already, and the caller, inside a
-- savepoint, falls back to the two upserts. Returns how many members it added.
WITH input AS (
  SELECT * FROM json_to_recordset($2::json) AS i(e text, n text, a json, s text)
), created AS (
  INSERT INTO contacts (account_id, email, name, attributes, created_at, updated_at)
  SELECT $1, e, n, COALESCE(a::jsonb, '{}'), $5, $5 FROM input ORDER BY e
  RETURNING id, email
), joined AS (
  INSERT INTO list_members (list_seq, contact_id, status, created_at, subscribed_at, unsubscribed_at, updated_at)
  SELECT $3, c.id, COALESCE(i.s, $4), $5, CASE WHEN COALESCE(i.s, $4) = 'subscribed' THEN $5::timestamptz END, CASE WHEN i.s = 'unsubscribed' THEN $5::timestamptz END, $5
  FROM created c JOIN input i ON i.e = c.email ORDER BY c.id
  RETURNING 1
)
SELECT count(*)::int AS n FROM joined;

-- name: upsertMembers
-- $3: JSON [{i: contact id or null, e: email, s: status or null, n: true for a contact the
-- contacts statement just created}] of contacts that exist (upsertContacts ran first in this
-- transaction and gave the ids of those it wrote). Without a status, a new member gets $4 and a
-- member keeps the status it has: re-adding a subscribed contact never makes it unconfirmed
-- again. With a status, the member takes it; subscribed_at and unsubscribed_at are when it last
-- became so. A contact created by this batch cannot be a member yet: it is inserted plainly,
-- and not returned. Returns the other members inserted or changed, by address, and whether
-- inserted.
WITH input AS (
  SELECT * FROM json_to_recordset($3::json) AS i(i bigint, e text, s text, n boolean)
), fresh AS (
  INSERT INTO list_members (list_seq, contact_id, status, created_at, subscribed_at, unsubscribed_at, updated_at)
  SELECT $2, i, COALESCE(s, $4), $5, CASE WHEN COALESCE(s, $4) = 'subscribed' THEN $5::timestamptz END, CASE WHEN s = 'unsubscribed' THEN $5::timestamptz END, $5
  FROM input WHERE n ORDER BY i
), found AS (
  SELECT i.i AS id, i.e AS email, i.s FROM input i WHERE i.i IS NOT NULL AND NOT i.n
  UNION ALL
  -- The others by address: one index look-up each (LATERAL with OFFSET 0 is never turned into a
  -- hash join over every contact of the account).
  SELECT c.id, c.email, i.s FROM input i
  CROSS JOIN LATERAL (SELECT id, email FROM contacts c WHERE c.account_id = $1 AND c.email = i.e OFFSET 0) c
  WHERE i.i IS NULL
), kept AS (
  INSERT INTO list_members AS m (list_seq, contact_id, status, created_at, subscribed_at, updated_at)
  SELECT $2, id, $4, $5, CASE WHEN $4 = 'subscribed' THEN $5::timestamptz END, $5 FROM found WHERE s IS NULL ORDER BY id
  ON CONFLICT (list_seq, contact_id) DO NOTHING
  RETURNING m.contact_id, true AS inserted
), given AS (
  INSERT INTO list_members AS m (list_seq, contact_id, status, created_at, subscribed_at, unsubscribed_at, updated_at)
  SELECT $2, id, s, $5, CASE WHEN s = 'subscribed' THEN $5::timestamptz END, CASE WHEN s = 'unsubscribed' THEN $5::timestamptz END, $5
  FROM found WHERE s IS NOT NULL ORDER BY id
  ON CONFLICT (list_seq, contact_id) DO UPDATE SET
    status = EXCLUDED.status,
    subscribed_at = CASE WHEN EXCLUDED.status = 'subscribed' THEN EXCLUDED.updated_at ELSE m.subscribed_at END,
    unsubscribed_at = CASE WHEN EXCLUDED.status = 'unsubscribed' THEN EXCLUDED.updated_at ELSE m.unsubscribed_at END,
    updated_at = EXCLUDED.updated_at
  WHERE m.status <> EXCLUDED.status
  RETURNING m.contact_id, (m.xmax = 0) AS inserted
), changed AS (
  SELECT * FROM kept UNION ALL SELECT * FROM given
)
SELECT f.email, ch.inserted FROM changed ch JOIN found f ON f.id = ch.contact_id;

-- name: findContactById
SELECT id FROM contacts WHERE account_id = $1 AND id = $2;

-- name: findContactByEmail
SELECT id FROM contacts WHERE account_id = $1 AND email = $2;

-- name: getMembers
-- Members of list $2 among the contacts with addresses $3, as shown: with their suppression entry if any.
SELECT c.id, c.email, c.name, c.attributes, c.created_at AS contact_created_at, c.updated_at AS contact_updated_at,
       m.status, m.created_at, m.subscribed_at, m.unsubscribed_at, m.updated_at,
       s.reason AS suppression_reason, s.created_at AS suppressed_at
FROM unnest($3::text[]) AS a(email)
CROSS JOIN LATERAL (SELECT * FROM contacts c WHERE c.account_id = $1 AND c.email = a.email OFFSET 0) c
CROSS JOIN LATERAL (SELECT * FROM list_members m WHERE m.list_seq = $2 AND m.contact_id = c.id OFFSET 0) m
LEFT JOIN LATERAL (SELECT reason, created_at FROM suppressions s WHERE s.account_id = $1 AND s.address = c.email OFFSET 0) s ON true
ORDER BY c.id;

-- name: pageMembers
-- A page of members in contact order after $3, any status: a range of the key, then each
-- member's contact and suppression entry by index look-ups (LATERAL with OFFSET 0 is never
-- turned into a join, which the planner chose over every contact of the account when a fresh
-- table's estimates were small).
SELECT c.id, c.email, c.name, c.attributes, c.created_at AS contact_created_at, c.updated_at AS contact_updated_at,
       m.status, m.created_at, m.subscribed_at, m.unsubscribed_at, m.updated_at,
       s.reason AS suppression_reason, s.created_at AS suppressed_at
FROM (SELECT * FROM list_members m WHERE m.list_seq = $2 AND m.contact_id > $3 ORDER BY m.contact_id LIMIT $4) m
CROSS JOIN LATERAL (SELECT * FROM contacts c WHERE c.id = m.contact_id AND c.account_id = $1 OFFSET 0) c
LEFT JOIN LATERAL (SELECT reason, created_at FROM suppressions s WHERE s.account_id = $1 AND s.address = c.email OFFSET 0) s ON true
ORDER BY m.contact_id;

-- name: pageSubscribedMembers
-- Subscribed members not on the suppression list (they are shown as such), in contact order
-- after $3: a range of the key, filtered on the status (most members are subscribed).
SELECT c.id, c.email, c.name, c.attributes, c.created_at AS contact_created_at, c.updated_at AS contact_updated_at,
       m.status, m.created_at, m.subscribed_at, m.unsubscribed_at, m.updated_at,
       NULL::text AS suppression_reason, NULL::timestamptz AS suppressed_at
FROM list_members m
CROSS JOIN LATERAL (SELECT * FROM contacts c WHERE c.id = m.contact_id AND c.account_id = $1 OFFSET 0) c
WHERE m.list_seq = $2 AND m.status = 'subscribed' AND m.contact_id > $3
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.account_id = $1 AND s.address = c.email)
ORDER BY m.contact_id
LIMIT $4;

-- name: pageOtherMembers
-- Members whose list status is $5 (unconfirmed or unsubscribed) and who are not on the
-- suppression list, in contact order after $3: from the index of members not subscribed.
SELECT c.id, c.email, c.name, c.attributes, c.created_at AS contact_created_at, c.updated_at AS contact_updated_at,
       m.status, m.created_at, m.subscribed_at, m.unsubscribed_at, m.updated_at,
       NULL::text AS suppression_reason, NULL::timestamptz AS suppressed_at
FROM list_members m
CROSS JOIN LATERAL (SELECT * FROM contacts c WHERE c.id = m.contact_id AND c.account_id = $1 OFFSET 0) c
WHERE m.list_seq = $2 AND m.status <> 'subscribed' AND m.status = $5 AND m.contact_id > $3
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.account_id = $1 AND s.address = c.email)
ORDER BY m.contact_id
LIMIT $4;

-- name: pageSuppressedMembers
-- Members on the suppression list for one of the reasons $5 (a text array), in contact order
-- after $3: driven from the account's suppression list, not from the members.
SELECT c.id, c.email, c.name, c.attributes, c.created_at AS contact_created_at, c.updated_at AS contact_updated_at,
       m.status, m.created_at, m.subscribed_at, m.unsubscribed_at, m.updated_at,
       s.reason AS suppression_reason, s.created_at AS suppressed_at
FROM suppressions s
CROSS JOIN LATERAL (SELECT * FROM contacts c WHERE c.account_id = s.account_id AND c.email = s.address OFFSET 0) c
CROSS JOIN LATERAL (SELECT * FROM list_members m WHERE m.list_seq = $2 AND m.contact_id = c.id OFFSET 0) m
WHERE s.account_id = $1 AND s.reason = ANY($5::text[]) AND c.id > $3
ORDER BY c.id
LIMIT $4;

-- name: patchContact
-- $3: whether a name is given ($4, null clears it); $5: the attributes that replace the
-- contact's, or null to keep them. Written only when something changes.
UPDATE contacts SET
  name = CASE WHEN $3::boolean THEN $4::text ELSE name END,
  attributes = COALESCE($5::jsonb, attributes),
  updated_at = $6
WHERE account_id = $1 AND id = $2
  AND ((($3::boolean) AND $4::text IS DISTINCT FROM name) OR ($5::jsonb IS NOT NULL AND $5::jsonb <> attributes))
RETURNING id;

-- name: removeMembers
-- Members of list $1 among contact ids $2 leave it; the contacts stay (other lists, attributes).
DELETE FROM list_members WHERE list_seq = $1 AND contact_id = ANY($2::bigint[]) RETURNING contact_id;

-- name: resolveContacts
-- Contact ids of the account for the given ids ($2) and addresses ($3).
SELECT id, email FROM contacts WHERE account_id = $1 AND (id = ANY($2::bigint[]) OR email = ANY($3::text[]));

-- name: getContact
SELECT id, email, name, attributes, created_at, updated_at FROM contacts WHERE account_id = $1 AND id = $2;

-- name: suppressionOf
SELECT reason, created_at FROM suppressions WHERE account_id = $1 AND address = $2;

-- name: membershipsOf
-- Through the account's lists: a key look-up in each.
SELECT l.id AS list_id, l.name AS list_name, m.status, m.created_at, m.subscribed_at, m.unsubscribed_at, m.updated_at
FROM lists l
CROSS JOIN LATERAL (SELECT * FROM list_members m WHERE m.list_seq = l.seq AND m.contact_id = $2 OFFSET 0) m
WHERE l.account_id = $1
ORDER BY l.id;

-- name: deleteContact
-- Erasure, with deleteMembershipsOf next in the same transaction: a statement started after
-- this one waited for any batch holding the contact's row sees that batch's memberships too.
-- The suppression entry of its address, if any, stays: it keeps the address from being mailed.
DELETE FROM contacts WHERE account_id = $1 AND id = $2 RETURNING id, email;

-- name: deleteMembershipsOf
-- Through the account's lists: a key look-up in each.
WITH gone AS (DELETE FROM list_members WHERE contact_id = $2 AND list_seq = ANY(ARRAY(SELECT seq FROM lists WHERE account_id = $1)) RETURNING 1)
SELECT count(*)::bigint AS n FROM gone;
