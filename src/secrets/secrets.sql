-- Every column that holds a sealed secret (src/crypto/sealed.ts), for the start-up sweep that
-- seals values an older version left in clear, and for `mailroom secrets rotate` and `status`.
--
-- The reads take one page: values that do not start with $1 ('enc:' for the values in clear,
-- 'enc:v1:<current key id>:' for every value not sealed with the current key), with an id
-- above $2, at most $3, in id order, with the account each belongs to.
-- The writes take [{id, was, sealed}] and replace a value only if it is still the one read
-- (`was`): a value changed meanwhile (a webhook's secret rotated, another process's sweep)
-- is left as it is.

-- name: callbackSecrets
SELECT id, id AS account_id, callback_secret AS value FROM accounts
WHERE NOT starts_with(callback_secret, $1) AND id > $2 ORDER BY id LIMIT $3;

-- name: replaceCallbackSecrets
UPDATE accounts a SET callback_secret = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE a.id = r.id AND a.callback_secret = r.was
RETURNING a.id;

-- name: webhookSecrets
SELECT id, account_id, secret AS value FROM webhooks
WHERE NOT starts_with(secret, $1) AND id > $2 ORDER BY id LIMIT $3;

-- name: replaceWebhookSecrets
UPDATE webhooks w SET secret = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE w.id = r.id AND w.secret = r.was
RETURNING w.id;

-- name: previousWebhookSecrets
SELECT id, account_id, previous_secret AS value FROM webhooks
WHERE previous_secret IS NOT NULL AND NOT starts_with(previous_secret, $1) AND id > $2 ORDER BY id LIMIT $3;

-- name: replacePreviousWebhookSecrets
UPDATE webhooks w SET previous_secret = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE w.id = r.id AND w.previous_secret = r.was
RETURNING w.id;

-- name: dkimKeys
SELECT id, account_id, dkim_private_key AS value FROM domains
WHERE NOT starts_with(dkim_private_key, $1) AND id > $2 ORDER BY id LIMIT $3;

-- name: replaceDkimKeys
UPDATE domains d SET dkim_private_key = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE d.id = r.id AND d.dkim_private_key = r.was
RETURNING d.id;

-- name: dkimEd25519Keys
SELECT id, account_id, dkim_ed25519_private_key AS value FROM domains
WHERE dkim_ed25519_private_key IS NOT NULL AND NOT starts_with(dkim_ed25519_private_key, $1) AND id > $2 ORDER BY id LIMIT $3;

-- name: replaceDkimEd25519Keys
UPDATE domains d SET dkim_ed25519_private_key = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE d.id = r.id AND d.dkim_ed25519_private_key = r.was
RETURNING d.id;

-- name: nextDkimKeys
-- A rotation's next keys (retiring keys keep no private key).
SELECT k.id, d.account_id, k.private_key AS value FROM domain_dkim_keys k JOIN domains d ON d.id = k.domain_id
WHERE k.private_key IS NOT NULL AND NOT starts_with(k.private_key, $1) AND k.id > $2 ORDER BY k.id LIMIT $3;

-- name: replaceNextDkimKeys
UPDATE domain_dkim_keys k SET private_key = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE k.id = r.id AND k.private_key = r.was
RETURNING k.id;

-- name: hipaaIndexKeys
SELECT id, id AS account_id, hipaa_index_key AS value FROM accounts
WHERE hipaa_index_key IS NOT NULL AND NOT starts_with(hipaa_index_key, $1) AND id > $2 ORDER BY id LIMIT $3;

-- name: replaceHipaaIndexKeys
UPDATE accounts a SET hipaa_index_key = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE a.id = r.id AND a.hipaa_index_key = r.was
RETURNING a.id;

-- name: messageDataKeys
-- HIPAA messages' data keys (message_keys.seq is the page's id). A key shredded meanwhile is
-- simply not replaced.
SELECT seq AS id, account_id, wrapped AS value FROM message_keys
WHERE NOT starts_with(wrapped, $1) AND seq > $2 ORDER BY seq LIMIT $3;

-- name: replaceMessageDataKeys
UPDATE message_keys k SET wrapped = r.sealed
FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, was text, sealed text)
WHERE k.seq = r.id AND k.wrapped = r.was
RETURNING k.seq AS id;

-- name: anySealed
-- Whether any secret is sealed yet: none before the first start of the version that seals them.
SELECT EXISTS (SELECT 1 FROM accounts WHERE starts_with(callback_secret, 'enc:'))
    OR EXISTS (SELECT 1 FROM webhooks WHERE starts_with(secret, 'enc:') OR starts_with(previous_secret, 'enc:'))
    OR EXISTS (SELECT 1 FROM domains WHERE starts_with(dkim_private_key, 'enc:') OR starts_with(dkim_ed25519_private_key, 'enc:'))
    OR EXISTS (SELECT 1 FROM domain_dkim_keys WHERE starts_with(private_key, 'enc:')) AS sealed;

-- name: sealedStatus
-- How many values of each kind are sealed with each key id ('clear': not sealed).
SELECT kind, CASE WHEN starts_with(value, 'enc:v1:') THEN split_part(value, ':', 3) ELSE 'clear' END AS key_id, count(*)::int AS n
FROM (
  SELECT 'callback-secret' AS kind, callback_secret AS value FROM accounts
  UNION ALL SELECT 'webhook-secret', secret FROM webhooks
  UNION ALL SELECT 'webhook-secret', previous_secret FROM webhooks WHERE previous_secret IS NOT NULL
  UNION ALL SELECT 'dkim-private-key', dkim_private_key FROM domains
  UNION ALL SELECT 'dkim-private-key', dkim_ed25519_private_key FROM domains WHERE dkim_ed25519_private_key IS NOT NULL
  UNION ALL SELECT 'dkim-private-key', private_key FROM domain_dkim_keys WHERE private_key IS NOT NULL
  UNION ALL SELECT 'hipaa-index-key', hipaa_index_key FROM accounts WHERE hipaa_index_key IS NOT NULL
  UNION ALL SELECT 'message-data-key', wrapped FROM message_keys
) v
GROUP BY 1, 2
ORDER BY 1, 2;
