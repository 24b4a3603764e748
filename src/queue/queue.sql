-- name: claimDue
-- Takes up to $4 due rows nobody holds (SKIP LOCKED lets several workers claim side by side),
-- except those for the recipient domains in $5 (destinations this worker cannot start more
-- for right now) and the messages in $6 (this worker's own, still in delivery though their
-- lease ran out), and no more of them than $7 bytes of content hold (rows too large for what is
-- left are passed over; the first due row is taken whatever its size when $8, the worker holds
-- nothing), leases them until $2 under token $3, and returns what delivery needs. Without the
-- byte budget, a worker restarted on a backlog of 10 MB messages read a hundred of them at once.
WITH due AS (
  SELECT message_id, due_at, COALESCE(size, 0) AS size FROM queue
  WHERE due_at <= $1 AND domain <> ALL($5::text[]) AND message_id <> ALL($6::text[])
  ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED
), fitting AS (
  SELECT message_id FROM (
    SELECT message_id, size, row_number() OVER w AS n, sum(size) FILTER (WHERE size <= $7) OVER w AS taken
    FROM due WINDOW w AS (ORDER BY due_at, message_id)
  ) d
  WHERE (size <= $7 AND taken <= $7) OR (n = 1 AND $8::boolean)
), claimed AS (
  UPDATE queue q SET due_at = $2, lease_token = $3, attempts = q.attempts + 1
  FROM fitting WHERE q.message_id = fitting.message_id
  RETURNING q.message_id, q.attempts, q.queued_at, q.pending_recipients, COALESCE(q.size, 0) AS size
)
SELECT c.message_id, c.attempts, c.queued_at, c.pending_recipients, c.size, m.account_id, m.status, m.from_address,
       m.envelope, m.content, m.message_id_hdr, m.created_at, b.raw AS body,
       a.track_opens AS account_track_opens, a.track_clicks AS account_track_clicks, a.hipaa AS account_hipaa,
       k.wrapped AS data_key
FROM claimed c JOIN messages m ON m.id = c.message_id
JOIN accounts a ON a.id = m.account_id
LEFT JOIN message_bodies b ON b.id = m.content->>'bodyId'
LEFT JOIN message_keys k ON k.message_id = c.message_id;

-- name: recordResults
-- Applies a batch of delivery results, each only if its lease is still held: a worker whose
-- lease expired (and whose message another worker took) changes nothing.
-- The queue and message rows are found through `= ANY(ARRAY(...))` on their primary keys: a plain
-- join with the batch (estimated at 100 rows) made the planner hash-join it against a sequential
-- scan of the whole queue, a cost that grew with the queue on every flush.
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
    message_id text, lease_token text, type text, status text, details jsonb, at timestamptz,
    retry_at timestamptz, last_error text, pending_recipients jsonb, destination text, caught jsonb)
), done AS (
  DELETE FROM queue q USING r
  WHERE q.message_id = ANY (ARRAY(SELECT message_id FROM r WHERE retry_at IS NULL))
    AND q.message_id = r.message_id AND q.lease_token = r.lease_token AND r.retry_at IS NULL
  RETURNING q.message_id, q.account_id
), retried AS (
  UPDATE queue q SET due_at = r.retry_at, lease_token = NULL, last_error = r.last_error,
                     pending_recipients = r.pending_recipients, destination = COALESCE(r.destination, q.destination)
  FROM r
  WHERE q.message_id = ANY (ARRAY(SELECT message_id FROM r WHERE retry_at IS NOT NULL))
    AND q.message_id = r.message_id AND q.lease_token = r.lease_token AND r.retry_at IS NOT NULL
  RETURNING q.message_id, q.account_id
), applied AS (
  SELECT message_id, account_id FROM done UNION ALL SELECT message_id, account_id FROM retried
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT r.message_id, a.account_id, r.type, r.at, r.details
  FROM applied a JOIN r ON r.message_id = a.message_id
), caught AS (
  -- The sandbox transport's delivery is this row: it commits with its result, or not at all.
  INSERT INTO sandbox_messages (account_id, message_id, envelope_from, envelope_to, subject, raw, received_at)
  SELECT a.account_id, r.message_id, r.caught->>'envelope_from', r.caught->'envelope_to', r.caught->>'subject', r.caught->>'raw', r.at
  FROM applied a JOIN r ON r.message_id = a.message_id
  WHERE r.caught IS NOT NULL
), u AS (
  -- A report can overtake the result it follows (a relay that bounces at once sends its DSN to
  -- the inbound MX before this batch commits): a message already BOUNCED or COMPLAINED keeps
  -- that status, as the status fold (src/events/status.ts) of its events says.
  UPDATE messages m SET status = CASE WHEN m.status IN ('BOUNCED', 'COMPLAINED') THEN m.status ELSE r.status END, updated_at = r.at
  FROM applied a JOIN r ON r.message_id = a.message_id
  WHERE m.id = ANY (ARRAY(SELECT message_id FROM applied)) AND m.id = a.message_id
), async_commit AS (
  -- $2 = 'off' (PostgreSQL): this transaction commits without waiting for its WAL to reach the
  -- disk. Between a receiver's 250 and this commit, a worker crash sends the message again: the
  -- shorter the commit, the fewer duplicates. What a database crash could lose here is only
  -- results (the last fraction of a second of them), whose queue rows then fall due and are
  -- sent again: duplicates, never a lost message. Acceptance (messages.sql) keeps synchronous
  -- commits. PGlite passes 'on': it has no WAL writer to flush later, so an asynchronous commit
  -- would stay in its memory until the next synchronous one, and die with the process.
  SELECT set_config('synchronous_commit', $2, true) AS setting
)
SELECT message_id FROM applied, async_commit;

-- name: renewLeases
-- Pushes the leases a live worker still holds forward (rows already done are gone). A row
-- locked right now is being recorded (deleted or rescheduled) by this worker's own result
-- batch: it is skipped, never waited for. Waiting made a cycle with that batch, which locks
-- its rows in another order: PostgreSQL broke the deadlock after a second by failing the
-- batch, and its results were written again one by one, seconds in which a crash sent all
-- those messages a second time (the chaos test saw 222 to 405 duplicates of 5,000).
UPDATE queue SET due_at = $2
WHERE message_id IN (SELECT message_id FROM queue WHERE lease_token = ANY($1::text[]) FOR UPDATE SKIP LOCKED);

-- name: releaseLeases
UPDATE queue SET due_at = $2, lease_token = NULL WHERE lease_token = ANY($1::text[]);

-- name: releaseAllLeases
UPDATE queue SET due_at = LEAST(due_at, $1), lease_token = NULL WHERE lease_token IS NOT NULL;

-- name: nextDue
SELECT min(due_at) AS due_at FROM queue;

-- name: depth
SELECT count(*) AS depth, min(queued_at) AS oldest FROM queue;

-- name: summaryByDestination
-- What an account has waiting, per destination: the MX host set (or relay) of the last attempt;
-- before a first attempt, the recipient domain (its destination is not known yet).
SELECT COALESCE(q.destination, q.domain) AS destination, q.destination IS NOT NULL AS attempted,
       array_agg(DISTINCT q.domain ORDER BY q.domain) AS domains,
       count(*) FILTER (WHERE m.status = 'QUEUED') AS queued,
       count(*) FILTER (WHERE m.status = 'DEFERRED') AS deferred,
       count(*) FILTER (WHERE m.status = 'SCHEDULED') AS scheduled,
       count(*) FILTER (WHERE q.lease_token IS NOT NULL) AS in_delivery,
       min(q.queued_at) AS oldest_queued_at,
       min(q.due_at) FILTER (WHERE q.lease_token IS NULL) AS next_attempt_at
FROM queue q JOIN messages m ON m.id = q.message_id
WHERE q.account_id = $1
GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1000;

-- name: retryNow
-- Makes waiting messages of an account due now (all, one recipient domain, one destination or
-- one message); rows a worker holds are left alone.
UPDATE queue SET due_at = $2
WHERE account_id = $1 AND lease_token IS NULL AND due_at > $2
  AND ($3::text IS NULL OR domain = $3) AND ($4::text IS NULL OR message_id = $4)
  AND ($5::text IS NULL OR COALESCE(destination, domain) = $5)
RETURNING message_id;

-- name: cancel
-- Takes a message out of the queue unless a worker holds it right now; the caller records the event.
DELETE FROM queue q USING messages m
WHERE q.message_id = $2 AND q.account_id = $1 AND m.id = q.message_id
  AND (q.lease_token IS NULL OR q.due_at <= $3)
RETURNING m.status;

-- name: appendEvent
WITH e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  VALUES ($1, $2, $3, $5, $6)
)
UPDATE messages SET status = $4, updated_at = $5 WHERE id = $1 AND account_id = $2;

-- name: depthByDestination
-- For /metrics, which is not scoped to an account: a waiting message counts under the destination
-- its last attempt went to (an MX host set, the relay), never under its recipient domain, which
-- is a customer's data; one not attempted yet counts under "pending".
SELECT COALESCE(destination, 'pending') AS destination, count(*) AS depth, min(queued_at) AS oldest
FROM queue GROUP BY 1 ORDER BY count(*) DESC LIMIT 200;
