-- Sending policy (issue 7): verified sender addresses, per-account policy switches and rate limits.

-- A sender address the account proved it reads (it clicked the confirmation link), or one in a
-- domain it verified. `confirmation_nonce` is in every link mailed for it; a resend replaces it,
-- so that only the newest link works.
CREATE TABLE senders (
  id                   bigserial PRIMARY KEY,
  account_id           bigint NOT NULL REFERENCES accounts (id),
  email                text NOT NULL,
  verified_at          timestamptz,
  verified_by          text CHECK (verified_by IN ('link', 'domain')),
  confirmation_nonce   text,
  confirmation_sent_at timestamptz,
  confirmation_message text,
  created_at           timestamptz NOT NULL,
  UNIQUE (account_id, email)
);

-- NULL: the installation's default (MAILROOM_CHECK_RECIPIENT_DOMAINS, MAILROOM_RATE_LIMIT_*).
ALTER TABLE accounts ADD COLUMN allow_role_addresses boolean NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN check_recipient_domains boolean;
ALTER TABLE accounts ADD COLUMN rate_per_second integer CHECK (rate_per_second >= 0);
ALTER TABLE accounts ADD COLUMN rate_per_day integer CHECK (rate_per_day >= 0);

-- One row per rate-limited account: the messages taken in the current second and the current
-- day (fixed windows, epoch seconds and epoch days). One row, so that one UPDATE takes from both
-- windows under the row lock: exact under concurrency and across processes.
CREATE TABLE rate_usage (
  account_id   bigint PRIMARY KEY REFERENCES accounts (id),
  second_start bigint NOT NULL,
  second_used  integer NOT NULL,
  day_start    integer NOT NULL,
  day_used     integer NOT NULL,
  granted      integer NOT NULL DEFAULT 0
);

-- How many of n messages a window pair still has room for (0 for a limit of 0: unlimited).
-- A function, because the UPDATE that takes them must compute it three times from the locked row.
CREATE FUNCTION mailroom_rate_grant(n integer, partial boolean, per_second integer, per_day integer, second_used integer, day_used integer)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN partial OR room >= n THEN GREATEST(0, LEAST(n, room)) ELSE 0 END
  FROM (SELECT LEAST(CASE WHEN per_second > 0 THEN per_second - second_used ELSE n END,
                     CASE WHEN per_day > 0 THEN per_day - day_used ELSE n END) AS room) r
$$;
