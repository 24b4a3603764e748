-- Message templates (SPEC section 9): a named template per account and its versions.

-- A PUT writes a new version and moves `version` to it; earlier versions stay readable, so a
-- message can be traced to the exact content it was rendered from. Deleting a template is a
-- hard delete: messages are rendered when they are accepted and never need it afterwards.
-- Names are unique per account; ids (tmpl_...) and names cannot collide (names may not start
-- with "tmpl_"), so one route parameter takes either.
CREATE TABLE templates (
  id         text PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  name       text NOT NULL,
  version    integer NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (account_id, name)
);

CREATE TABLE template_versions (
  template_id text NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
  version     integer NOT NULL,
  subject     text NOT NULL,
  text        text,
  html        text,
  -- Default placeholder values: {"name": "string" | number | boolean}.
  defaults    jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (template_id, version),
  CHECK (text IS NOT NULL OR html IS NOT NULL)
);
