-- name: ensureHeads
-- A chain starts from the empty hash at position 0.
INSERT INTO audit_heads (account_id, seq, hash)
SELECT a, 0, '' FROM unnest($1::bigint[]) AS a
ON CONFLICT (account_id) DO NOTHING;

-- name: lockHeads
-- The heads of the batch's chains, locked until it commits (accounts in order: no deadlock
-- between processes writing the same accounts).
SELECT account_id, seq, hash FROM audit_heads WHERE account_id = ANY($1::bigint[]) ORDER BY account_id FOR UPDATE;

-- name: insertEntries
INSERT INTO audit_log (account_id, seq, at, actor, operator, action, target, remote_address, outcome, status, key_id, prev_hash, hash)
SELECT r.account_id, r.seq, r.at, r.actor, r.operator, r.action, r.target, r.remote_address, r.outcome, r.status, r.key_id, r.prev_hash, r.hash
FROM jsonb_to_recordset($1::jsonb) AS r(account_id bigint, seq bigint, at timestamptz, actor text, operator text, action text, target text,
  remote_address text, outcome text, status text, key_id text, prev_hash text, hash text);

-- name: moveHeads
UPDATE audit_heads h SET seq = r.seq, hash = r.hash
FROM jsonb_to_recordset($1::jsonb) AS r(account_id bigint, seq bigint, hash text)
WHERE h.account_id = r.account_id;

-- name: page
-- An account's entries, oldest first, after position $2.
SELECT seq, at, actor, operator, action, target, remote_address, outcome, status, key_id, prev_hash, hash
FROM audit_log WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: heads
SELECT account_id, seq, hash FROM audit_heads ORDER BY account_id;

-- name: chainAccounts
SELECT DISTINCT account_id FROM audit_log ORDER BY account_id;
