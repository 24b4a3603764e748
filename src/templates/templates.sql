-- Every query names the account: a template of another account is simply not found.
-- $2 of the look-ups is an id (tmpl_...) or a name; names never start with "tmpl_".

-- name: createTemplate
-- Nothing is written when the name is taken (no row comes back): the caller answers 409.
WITH created AS (
  INSERT INTO templates (id, account_id, name, version, created_at, updated_at)
  VALUES ($1, $2, $3, 1, $8::timestamptz, $8::timestamptz)
  ON CONFLICT (account_id, name) DO NOTHING
  RETURNING id, name, version, created_at, updated_at
), first_version AS (
  INSERT INTO template_versions (template_id, version, subject, text, html, defaults, created_at)
  SELECT id, 1, $4::text, $5::text, $6::text, $7::jsonb, $8::timestamptz FROM created
  RETURNING version, subject, text, html, defaults, created_at
)
SELECT c.id, c.name, c.version AS latest_version, c.created_at, c.updated_at,
       v.version, v.subject, v.text, v.html, v.defaults, v.created_at AS version_created_at
FROM created c CROSS JOIN first_version v;

-- name: updateTemplate
-- The UPDATE locks the template row, so concurrent PUTs get consecutive version numbers.
-- $3 renames it when not null (a taken name fails on the unique constraint).
WITH bumped AS (
  UPDATE templates SET version = version + 1, updated_at = $8::timestamptz, name = COALESCE($3::text, name)
  WHERE account_id = $1 AND (id = $2 OR name = $2)
  RETURNING id, name, version, created_at, updated_at
), added AS (
  INSERT INTO template_versions (template_id, version, subject, text, html, defaults, created_at)
  SELECT id, version, $4::text, $5::text, $6::text, $7::jsonb, $8::timestamptz FROM bumped
  RETURNING version, subject, text, html, defaults, created_at
)
SELECT b.id, b.name, b.version AS latest_version, b.created_at, b.updated_at,
       a.version, a.subject, a.text, a.html, a.defaults, a.created_at AS version_created_at
FROM bumped b CROSS JOIN added a;

-- name: getTemplate
-- The latest version, or version $3 when it is not null.
SELECT t.id, t.name, t.version AS latest_version, t.created_at, t.updated_at,
       v.version, v.subject, v.text, v.html, v.defaults, v.created_at AS version_created_at
FROM templates t
JOIN template_versions v ON v.template_id = t.id AND v.version = COALESCE($3::int, t.version)
WHERE t.account_id = $1 AND (t.id = $2 OR t.name = $2);

-- name: findTemplateId
SELECT id FROM templates WHERE account_id = $1 AND (id = $2 OR name = $2);

-- name: listTemplates
-- By name; the cursor is the last name of the previous page. Bodies are left out (up to 2 MB each).
SELECT t.id, t.name, t.version, t.created_at, t.updated_at, v.subject
FROM templates t
JOIN template_versions v ON v.template_id = t.id AND v.version = t.version
WHERE t.account_id = $1 AND ($2::text IS NULL OR t.name > $2)
ORDER BY t.name
LIMIT $3;

-- name: listVersions
-- Newest first; the cursor is the last version of the previous page.
SELECT v.version, v.subject, v.text IS NOT NULL AS has_text, v.html IS NOT NULL AS has_html, v.created_at
FROM templates t
JOIN template_versions v ON v.template_id = t.id
WHERE t.account_id = $1 AND t.id = $2 AND ($3::int IS NULL OR v.version < $3)
ORDER BY v.version DESC
LIMIT $4;

-- name: deleteTemplate
-- Its versions go with it (ON DELETE CASCADE).
DELETE FROM templates WHERE account_id = $1 AND (id = $2 OR name = $2) RETURNING id, name;
