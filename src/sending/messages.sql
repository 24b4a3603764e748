-- name: insertMessages
-- One statement stores a whole group-commit batch: the messages, their first event, their
-- queue rows and ($2) the bodies of messages submitted over SMTP (base64 in the JSON). A single
-- statement is its own transaction. (Workers are woken separately, see
-- src/queue/notifier.ts: NOTIFY inside it would serialise concurrent commits.)
-- The suppression list is read here too, in the same round trip: a message whose To is on its
-- account's list is stored REJECTED, with the entry in its event, and not queued; the
-- statement returns those (the caller answers them REJECTED). A message the pipeline already
-- rejected keeps its own details. ($3: the audit entries of HIPAA accounts' requests, committed
-- with their messages and chained later, src/audit/audit.ts.)
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
    id text, account_id bigint, operator_id bigint, status text, to_address text, from_address text,
    subject text, external_id text, client_id text, alias text, campaign_id text, callbacks jsonb,
    tags jsonb, envelope jsonb, content jsonb, message_id_hdr text, send_at timestamptz,
    created_at timestamptz, domain text, due_at timestamptz, callback_urls jsonb, event_details jsonb, size integer,
    data_key text)
), suppressed AS (
  -- One index look-up per message (LATERAL with OFFSET 0 is never turned into a join): the
  -- planner assumes a hundred input rows, and against a list of many thousand addresses it
  -- chose to hash the whole list for every batch.
  SELECT i.id, s.address, s.reason, s.message_id, s.created_at
  FROM input i
  CROSS JOIN LATERAL (
    SELECT s.address, s.reason, s.message_id, s.created_at FROM suppressions s
    WHERE s.account_id = i.account_id AND s.address = i.to_address OFFSET 0
  ) s
  WHERE i.status <> 'REJECTED'
), batch AS (
  SELECT i.id, i.account_id, i.operator_id, i.to_address, i.from_address, i.subject, i.external_id,
    i.client_id, i.alias, i.campaign_id, i.callbacks, i.tags, i.envelope, i.content, i.message_id_hdr,
    i.send_at, i.created_at, i.domain, i.callback_urls, i.size, i.data_key,
    CASE WHEN s.id IS NULL THEN i.status ELSE 'REJECTED' END AS status,
    CASE WHEN s.id IS NULL THEN i.due_at END AS due_at,
    CASE WHEN s.id IS NULL THEN i.event_details ELSE jsonb_build_object(
      'reason', 'suppressed', 'recipient', i.to_address,
      'suppression', jsonb_build_object('address', s.address, 'reason', s.reason, 'messageId', s.message_id, 'since', s.created_at))
    END AS event_details
  FROM input i LEFT JOIN suppressed s ON s.id = i.id
), bodies AS (
  INSERT INTO message_bodies (id, account_id, raw, created_at)
  SELECT id, account_id, decode(raw, 'base64'), created_at
  FROM jsonb_to_recordset($2::jsonb) AS b(id text, account_id bigint, raw text, created_at timestamptz)
), m AS (
  INSERT INTO messages (id, account_id, operator_id, status, to_address, from_address, subject,
    external_id, client_id, alias, campaign_id, callbacks, tags, envelope, content, message_id_hdr,
    send_at, created_at, updated_at)
  SELECT id, account_id, operator_id, status, to_address, from_address, subject, external_id,
    client_id, alias, campaign_id, callbacks, tags, envelope, content, message_id_hdr, send_at,
    created_at, created_at
  FROM batch
), keys AS (
  -- A HIPAA message's wrapped data key (src/hipaa/vault.ts); other messages have none.
  INSERT INTO message_keys (message_id, account_id, wrapped)
  SELECT id, account_id, data_key FROM batch WHERE data_key IS NOT NULL
), cb AS (
  -- The message's http(s) callback URLs (callback_urls, found by the pipeline), for the
  -- fan-out to the outbox (migration 005).
  INSERT INTO message_callbacks (message_id, account_id, urls)
  SELECT id, account_id, callback_urls FROM batch WHERE callback_urls IS NOT NULL
), e AS (
  INSERT INTO message_events (message_id, account_id, type, created_at, details)
  SELECT id, account_id, status, created_at, COALESCE(event_details, '{}'::jsonb) FROM batch
), audit AS (
  INSERT INTO audit_pending (entries) SELECT $3::jsonb WHERE jsonb_array_length($3::jsonb) > 0
), q AS (
  INSERT INTO queue (message_id, account_id, domain, due_at, queued_at, size)
  SELECT id, account_id, domain, due_at, created_at, size FROM batch WHERE due_at IS NOT NULL
  RETURNING 1
)
SELECT (SELECT count(*) FROM q) AS queued,
       (SELECT jsonb_agg(jsonb_build_object('id', id, 'address', address, 'reason', reason, 'messageId', message_id, 'since', created_at)) FROM suppressed) AS rejected;

-- name: messageById
-- Reads show what a message says, not its attachments or HTML: those are up to 13 MB a message,
-- and a list of a hundred read them all into this process. (`-` still reads the whole value in
-- the database, one row at a time.)
SELECT m.id, m.status, m.subject, m.external_id, m.client_id, m.alias, m.campaign_id, m.callbacks, m.tags,
  m.content - '{attachments,html,plain}'::text[] AS content, m.send_at, m.created_at, m.updated_at,
  a.name AS account_name, o.name AS operator_name
FROM messages m JOIN accounts a ON a.id = m.account_id JOIN operators o ON o.id = m.operator_id
WHERE m.account_id = $1 AND m.id = $2;

-- name: bodyById
SELECT raw FROM message_bodies WHERE account_id = $1 AND id = $2;

-- name: eventsOfMessage
SELECT id, type, created_at, details FROM message_events
WHERE account_id = $1 AND message_id = $2 ORDER BY id;

-- name: idempotencyLookup
SELECT request_hash, status_code, response, created_at FROM idempotency_keys
WHERE account_id = $1 AND key = $2 AND created_at > $3;

-- name: idempotencyClaim
-- Takes the key unless a live (younger than 24 h) record holds it; an expired one is replaced.
INSERT INTO idempotency_keys (account_id, key, request_hash, status_code, response, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (account_id, key) DO UPDATE
  SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
      response = EXCLUDED.response, created_at = EXCLUDED.created_at
  WHERE idempotency_keys.created_at <= $7
RETURNING key;

-- name: listMessages
-- As messageById: no attachments or HTML.
-- Every filter but from and tag has an index that ends with the id, so a page is the next entries
-- of one index. From and tag have none (one more index per message would cost every send), so a
-- request with either walks at most $12 messages of the other filters' matches down the ids and
-- keeps those that match, stopping as soon as the page is full: its time is bounded whatever the
-- data. When the page is not full, scanned_to and scanned_count say where the walk stopped (read
-- again from the index alone), so the caller's next page goes on from there. Without from and tag
-- $12 is the page's size and the walk is the page.
-- The dates are also given as ids ($14, $15: ids begin with their creation time, the same clock
-- reading as created_at; src/shared/ids.ts). Without them a date range was a filter on a walk
-- down the id index from the newest message: a week 60 days back read every newer message
-- first (a second at a million messages). With them the walk starts and ends at the range.
WITH matched AS MATERIALIZED (
  -- No ORDER BY out here: the walk's order is kept, and the LIMIT stops it when the page is full.
  SELECT id FROM (
    SELECT m.id, m.from_address, m.tags
    FROM messages m
    WHERE m.account_id = $1
      AND ($2::text IS NULL OR m.status = $2)
      AND ($3::text IS NULL OR m.external_id = $3)
      AND ($4::text IS NULL OR m.client_id = $4)
      AND ($5::text IS NULL OR m.campaign_id = $5)
      AND ($6::text IS NULL OR m.to_address = $6)
      AND ($8::timestamptz IS NULL OR (m.created_at >= $8 AND m.id >= $14::text))
      AND ($9::timestamptz IS NULL OR (m.created_at < $9 AND m.id < $15::text))
      AND ($10::text IS NULL OR m.id < $10)
    ORDER BY m.id DESC
    LIMIT $12
  ) walked
  WHERE ($7::text IS NULL OR from_address = $7) AND ($13::jsonb IS NULL OR tags @> $13)
  LIMIT $11
), walk AS (
  SELECT min(id) AS scanned_to, count(*)::int AS scanned_count FROM (
    SELECT m.id
    FROM messages m
    WHERE m.account_id = $1
      AND ($2::text IS NULL OR m.status = $2)
      AND ($3::text IS NULL OR m.external_id = $3)
      AND ($4::text IS NULL OR m.client_id = $4)
      AND ($5::text IS NULL OR m.campaign_id = $5)
      AND ($6::text IS NULL OR m.to_address = $6)
      AND ($8::timestamptz IS NULL OR (m.created_at >= $8 AND m.id >= $14::text))
      AND ($9::timestamptz IS NULL OR (m.created_at < $9 AND m.id < $15::text))
      AND ($10::text IS NULL OR m.id < $10)
    ORDER BY m.id DESC
    LIMIT $12
  ) walked
  -- Only for a page that is not full (otherwise its last message is the cursor): a one-time test.
  WHERE (SELECT count(*) FROM matched) < $11
)
SELECT w.scanned_to, w.scanned_count, m.id, m.status, m.subject, m.external_id, m.client_id, m.alias, m.campaign_id, m.callbacks, m.tags,
  m.content - '{attachments,html,plain}'::text[] AS content, m.send_at, m.created_at, m.updated_at,
  a.name AS account_name, o.name AS operator_name
FROM walk w
LEFT JOIN (matched x JOIN messages m ON m.account_id = $1 AND m.id = x.id JOIN accounts a ON a.id = m.account_id JOIN operators o ON o.id = m.operator_id) ON true
ORDER BY m.id DESC;

-- name: messageContent
-- One message's whole content (the console's preview): up to 13 MB, read for one message only.
SELECT content FROM messages WHERE account_id = $1 AND id = $2;
