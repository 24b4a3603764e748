-- Every query names the account: another account's list is simply not found.

-- name: createList
INSERT INTO lists (id, account_id, name, description, opt_in, from_address, from_name, token, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
RETURNING *;

-- name: getList
SELECT * FROM lists WHERE account_id = $1 AND id = $2;

-- name: listLists
-- Newest first; the cursor is the last id of the previous page (ids sort by creation time).
SELECT * FROM lists
WHERE account_id = $1 AND ($2::text IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3;

-- name: updateList
-- $3..$7: a new value, or null to keep it; $8..$10: whether description, from_address and
-- from_name are given at all (given as null, they are cleared).
UPDATE lists SET
  name = COALESCE($3::text, name),
  opt_in = COALESCE($4::text, opt_in),
  description = CASE WHEN $8::boolean THEN $5::text ELSE description END,
  from_address = CASE WHEN $9::boolean THEN $6::text ELSE from_address END,
  from_name = CASE WHEN $10::boolean THEN $7::text ELSE from_name END,
  updated_at = $11
WHERE account_id = $1 AND id = $2
RETURNING *;

-- name: endImportsOf
-- Before a list is deleted: its running imports end here, so that their next batch, finding
-- them ended, rolls back and stops. Otherwise each batch's lock on the list (lockList) would keep
-- the DELETE waiting until the import's last batch.
UPDATE list_imports SET state = 'failed', error = 'the list was deleted during the import', updated_at = $3, finished_at = $3
WHERE account_id = $1 AND list_id = $2 AND state = 'running';

-- name: deleteList
-- Its members go in the next statement of the same transaction (deleteMembersOf): one started
-- after this one waited for any batch still writing members, so it sees them all.
DELETE FROM lists WHERE account_id = $1 AND id = $2 RETURNING seq, id, name;

-- name: deleteMembersOf
WITH gone AS (DELETE FROM list_members WHERE list_seq = $1 RETURNING 1)
SELECT count(*)::bigint AS n FROM gone;

-- name: lockList
-- Held by every transaction that writes members: a list cannot be deleted under a batch, whose
-- members would be left behind without their list.
SELECT seq, opt_in FROM lists WHERE account_id = $1 AND id = $2 FOR KEY SHARE;

-- name: suppressedMembers
-- The members on the account's suppression list, by list status and reason. Driven from the
-- suppression list (index look-ups of each entry's contact and membership): its cost follows the
-- account's suppression list, not the size of the list.
SELECT m.status, s.reason, count(*)::bigint AS n
FROM suppressions s
CROSS JOIN LATERAL (SELECT id FROM contacts c WHERE c.account_id = s.account_id AND c.email = s.address OFFSET 0) c
CROSS JOIN LATERAL (SELECT status FROM list_members m WHERE m.list_seq = $2 AND m.contact_id = c.id OFFSET 0) m
WHERE s.account_id = $1
GROUP BY m.status, s.reason;
