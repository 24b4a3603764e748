-- name: lockHeads
-- The heads of the batch's chains, made (a chain starts from the empty hash at position 0) and
-- locked until the batch commits, in one statement: the no-op update takes the row lock of a
-- head that exists. Accounts in order: no deadlock between processes writing the same accounts.
INSERT INTO audit_heads AS h (account_id, seq, hash)
SELECT a, 0, '' FROM unnest($1::bigint[]) AS a ORDER BY a
ON CONFLICT (account_id) DO UPDATE SET seq = h.seq
RETURNING account_id, seq, hash;

-- name: appendEntries
-- The entries, and the heads moved to each chain's last one, in one statement.
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(account_id bigint, seq bigint, at timestamptz, actor text, operator text, action text, target text,
    remote_address text, outcome text, status text, key_id text, prev_hash text, hash text)
), entries AS (
  INSERT INTO audit_log (account_id, seq, at, actor, operator, action, target, remote_address, outcome, status, key_id, prev_hash, hash)
  SELECT account_id, seq, at, actor, operator, action, target, remote_address, outcome, status, key_id, prev_hash, hash FROM r
)
UPDATE audit_heads h SET seq = last.seq, hash = last.hash
FROM (SELECT DISTINCT ON (account_id) account_id, seq, hash FROM r ORDER BY account_id, seq DESC) last
WHERE h.account_id = last.account_id;

-- name: page
-- An account's entries, oldest first, after position $2.
SELECT seq, at, actor, operator, action, target, remote_address, outcome, status, key_id, prev_hash, hash
FROM audit_log WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: heads
SELECT account_id, seq, hash FROM audit_heads ORDER BY account_id;

-- name: chainAccounts
SELECT DISTINCT account_id FROM audit_log ORDER BY account_id;

-- name: takePending
-- Entries written beside their actions (audit_pending, migration 024: a row per storing
-- statement), oldest first, taken off the waiting table by the transaction that chains them. Locked in id order, so two processes
-- chaining at once never deadlock: the second waits for the first's rows and finds them gone.
WITH taken AS (
  SELECT id FROM audit_pending ORDER BY id LIMIT $1 FOR UPDATE
)
DELETE FROM audit_pending p USING taken WHERE p.id = taken.id
RETURNING p.id, p.entries;

-- name: anyPending
SELECT EXISTS (SELECT 1 FROM audit_pending) AS pending;
