-- Lists and contacts (issue 16, docs/CAMPAIGNS.md).
--
-- A contact is one address of an account (lower-cased as the suppression list stores it, so that
-- the suppression overlay is an exact match), with a name and attributes. A list holds contacts
-- through list_members, one row per (list, contact) with the list status: unconfirmed,
-- subscribed or unsubscribed. Bounced and complained are not stored here: they come from the
-- account's suppression list whenever a member is shown or selected.
--
-- list_members and contacts have no foreign keys: a key check is a row trigger per inserted row,
-- and a million-row import pays it a million times over (twice). Their deletes are explicit
-- instead (a list's members go with the list, a contact's memberships with the contact), in the
-- statements that delete them (src/lists/*.sql).

-- `id` is public (list_...); `seq` is the compact key members refer to (8 bytes rather than 27
-- per member row and per index entry). `token` names the list in public subscribe URLs. The
-- counts are kept by the trigger below in the transaction of every change to list_members.
CREATE TABLE lists (
  id                 text PRIMARY KEY,
  seq                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  account_id         bigint NOT NULL REFERENCES accounts (id),
  name               text NOT NULL,
  description        text,
  opt_in             text NOT NULL CHECK (opt_in IN ('single', 'double')),
  from_address       text,
  from_name          text,
  token              text NOT NULL UNIQUE,
  unconfirmed_count  bigint NOT NULL DEFAULT 0,
  subscribed_count   bigint NOT NULL DEFAULT 0,
  unsubscribed_count bigint NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX lists_by_account ON lists (account_id, id DESC);

-- Ids are a sequence: the audience of a campaign is read in contact id order, page by page.
CREATE TABLE contacts (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  email      text NOT NULL,
  name       text,
  -- {"name": string | number | boolean | null}, at most 100 keys (src/lists/attributes.ts).
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (account_id, email)
);

-- Whether merged attributes stay within the bounds of src/lists/attributes.ts (100 keys, 8 KB as
-- JSON text: jsonb writes a space after each ":" and ",", which JSON.stringify does not).
CREATE FUNCTION mailroom_attributes_fit(a jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT count(*) <= 100 AND octet_length(a::text) - 2 * count(*) <= 8192 FROM jsonb_object_keys(a)
$$;

CREATE TABLE list_members (
  list_seq        bigint NOT NULL,
  contact_id      bigint NOT NULL,
  status          text NOT NULL CHECK (status IN ('unconfirmed', 'subscribed', 'unsubscribed')),
  created_at      timestamptz NOT NULL,
  subscribed_at   timestamptz,
  unsubscribed_at timestamptz,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (list_seq, contact_id)
);
-- One index beside the key, and only for the members not subscribed: every index is written for
-- every row of an import. The subscribed members (a campaign's audience, most of a list) are read
-- in contact order from the key, (list_seq, contact_id), whose range scan filters on the status;
-- the other statuses, usually few, from this one. The lists of one contact are found through the
-- account's lists (a key look-up each), so no index by contact is kept either.
CREATE INDEX list_members_not_subscribed ON list_members (list_seq, status, contact_id) WHERE status <> 'subscribed';

-- The counts of each list, moved by every statement that writes list_members: one UPDATE per
-- list per statement (not per row), lists taken in seq order so that two statements touching the
-- same lists lock them in the same order. Transition tables hold the rows of the whole statement,
-- data-modifying CTEs included (the trigger fires once per statement).
CREATE FUNCTION mailroom_list_counts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR r IN
      SELECT list_seq, count(*) FILTER (WHERE status = 'unconfirmed') AS u, count(*) FILTER (WHERE status = 'subscribed') AS s,
             count(*) FILTER (WHERE status = 'unsubscribed') AS x
      FROM new_members GROUP BY list_seq ORDER BY list_seq
    LOOP
      UPDATE lists SET unconfirmed_count = unconfirmed_count + r.u, subscribed_count = subscribed_count + r.s, unsubscribed_count = unsubscribed_count + r.x
      WHERE seq = r.list_seq;
    END LOOP;
  ELSIF TG_OP = 'DELETE' THEN
    FOR r IN
      SELECT list_seq, count(*) FILTER (WHERE status = 'unconfirmed') AS u, count(*) FILTER (WHERE status = 'subscribed') AS s,
             count(*) FILTER (WHERE status = 'unsubscribed') AS x
      FROM old_members GROUP BY list_seq ORDER BY list_seq
    LOOP
      UPDATE lists SET unconfirmed_count = unconfirmed_count - r.u, subscribed_count = subscribed_count - r.s, unsubscribed_count = unsubscribed_count - r.x
      WHERE seq = r.list_seq;
    END LOOP;
  ELSE
    FOR r IN
      SELECT list_seq, sum(u) AS u, sum(s) AS s, sum(x) AS x FROM (
        SELECT list_seq, (status = 'unconfirmed')::int AS u, (status = 'subscribed')::int AS s, (status = 'unsubscribed')::int AS x FROM new_members
        UNION ALL
        SELECT list_seq, -(status = 'unconfirmed')::int, -(status = 'subscribed')::int, -(status = 'unsubscribed')::int FROM old_members
      ) d GROUP BY list_seq HAVING sum(u) <> 0 OR sum(s) <> 0 OR sum(x) <> 0 ORDER BY list_seq
    LOOP
      UPDATE lists SET unconfirmed_count = unconfirmed_count + r.u, subscribed_count = subscribed_count + r.s, unsubscribed_count = unsubscribed_count + r.x
      WHERE seq = r.list_seq;
    END LOOP;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER list_members_added AFTER INSERT ON list_members
  REFERENCING NEW TABLE AS new_members FOR EACH STATEMENT EXECUTE FUNCTION mailroom_list_counts();
CREATE TRIGGER list_members_changed AFTER UPDATE ON list_members
  REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members FOR EACH STATEMENT EXECUTE FUNCTION mailroom_list_counts();
CREATE TRIGGER list_members_removed AFTER DELETE ON list_members
  REFERENCING OLD TABLE AS old_members FOR EACH STATEMENT EXECUTE FUNCTION mailroom_list_counts();

-- CSV imports into a list: a job run by the API process that accepted the file (spooled in its
-- data directory). `runner` names that process: it holds a session advisory lock on the name
-- while it lives, so a job whose runner's lock can be taken was interrupted (the process died)
-- and is marked failed (src/lists/imports.ts). The counts are written in the transaction of each
-- batch, so they are exact whatever happens. `refusals`: the first refused lines, [{line, reason}].
CREATE TABLE list_imports (
  id          text PRIMARY KEY,
  account_id  bigint NOT NULL,
  list_id     text NOT NULL,
  runner      text NOT NULL,
  state       text NOT NULL CHECK (state IN ('running', 'finished', 'failed', 'canceled')),
  bytes       bigint NOT NULL,
  rows_read   bigint NOT NULL DEFAULT 0,
  added       bigint NOT NULL DEFAULT 0,
  updated     bigint NOT NULL DEFAULT 0,
  unchanged   bigint NOT NULL DEFAULT 0,
  refused     bigint NOT NULL DEFAULT 0,
  refusals    jsonb NOT NULL DEFAULT '[]',
  error       text,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX list_imports_by_list ON list_imports (account_id, list_id, id DESC);
CREATE INDEX list_imports_running ON list_imports (runner) WHERE state = 'running';
