-- name: indexKey
SELECT hipaa_index_key FROM accounts WHERE id = $1;

-- name: setIndexKey
-- The first process to need the account's index key makes it; one that raced it reads the winner's.
UPDATE accounts SET hipaa_index_key = COALESCE(hipaa_index_key, $2) WHERE id = $1
RETURNING hipaa_index_key;
