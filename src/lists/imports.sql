-- CSV import jobs (importRunner.ts). Every read names the account and the list.

-- name: createImport
INSERT INTO list_imports (id, account_id, list_id, runner, state, bytes, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'running', $5, $6, $6)
RETURNING *;

-- name: getImport
SELECT * FROM list_imports WHERE account_id = $1 AND list_id = $2 AND id = $3;

-- name: listImports
-- Newest first; the cursor is the last id of the previous page (ids sort by creation time).
SELECT * FROM list_imports
WHERE account_id = $1 AND list_id = $2 AND ($3::text IS NULL OR id < $3)
ORDER BY id DESC
LIMIT $4;

-- name: recordProgress
-- In the transaction of each batch: what it did is added to the counts (batches written at once
-- each add their own), and the first refusals so far replace the list; only while the job still
-- runs. No row means it was canceled (or found interrupted) meanwhile: the batch is rolled back.
UPDATE list_imports SET
  added = added + $2, updated = updated + $3, unchanged = unchanged + $4, refused = refused + $5,
  rows_read = rows_read + $2 + $3 + $4 + $5, refusals = $6::jsonb, updated_at = $7
WHERE id = $1 AND state = 'running'
RETURNING id;

-- name: finishImport
-- $2: finished or failed; $3: why it failed. Only a running job ends this way.
UPDATE list_imports SET state = $2, error = $3, updated_at = $4, finished_at = $4
WHERE id = $1 AND state = 'running'
RETURNING id;

-- name: cancelImport
UPDATE list_imports SET state = 'canceled', updated_at = $4, finished_at = $4
WHERE account_id = $1 AND list_id = $2 AND id = $3 AND state = 'running'
RETURNING *;

-- name: failInterrupted
-- Jobs whose runner is gone: another process's (not $1) whose advisory lock can be taken, so no
-- live session holds it. $2: the lock namespace; $4: one account's jobs only, or null for all.
UPDATE list_imports SET state = 'failed', updated_at = $3, finished_at = $3,
  error = 'interrupted: the process running the import stopped before it finished; the rows counted were imported, and importing the file again adds the rest (an import is idempotent)'
WHERE state = 'running' AND runner <> $1 AND ($4::bigint IS NULL OR account_id = $4)
  AND pg_try_advisory_xact_lock($2, hashtext(runner))
RETURNING id;

-- name: runningAmong
-- Which of the ids $1 still run (their spooled files are in use).
SELECT id FROM list_imports WHERE state = 'running' AND id = ANY($1::text[]);
