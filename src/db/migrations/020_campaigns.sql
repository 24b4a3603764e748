-- Campaigns (issue 16, docs/CAMPAIGNS.md): one content to the subscribed members of lists, minus
-- exclusion lists, fed into the one send pipeline page by page as the rate allows.
--
-- `audience_at` fixes the audience: the members subscribed at that moment (list_members.
-- subscribed_at <= audience_at), set when the campaign starts running. `cursor` is the last
-- contact id handled (the audience is read in contact id order); it moves, with the counts, in
-- the transaction that stores each page's messages and ledger rows, so a crash at any moment
-- resumes exactly where the last page committed.
-- One process feeds a campaign at a time: `lease_token` (prefixed by its worker id, so a dead
-- worker's campaigns are handed back by src/queue/workers.sql) until `lease_until`.
CREATE TABLE campaigns (
  id               text PRIMARY KEY,
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  account_id       bigint NOT NULL REFERENCES accounts (id),
  operator_id      bigint NOT NULL,
  name             text NOT NULL,
  from_address     text NOT NULL,
  reply_to         text,
  subject          text,
  text_body        text,
  html_body        text,
  template_id      text,
  template_version integer,
  lists            text[] NOT NULL,
  exclude_lists    text[] NOT NULL DEFAULT '{}',
  tags             text[] NOT NULL DEFAULT '{}',
  track_opens      boolean,
  track_clicks     boolean,
  send_at          timestamptz,
  rate_per_minute  integer,
  state            text NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'finished', 'canceled')),
  audience_at      timestamptz,
  total            bigint,
  cursor           bigint NOT NULL DEFAULT 0,
  processed        bigint NOT NULL DEFAULT 0,
  queued           bigint NOT NULL DEFAULT 0,
  rejected         bigint NOT NULL DEFAULT 0,
  refused          bigint NOT NULL DEFAULT 0,
  -- Why the campaign paused itself ({code, message}): the account suspended, the sender no longer verified...
  error            jsonb,
  lease_token      text,
  lease_until      timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  started_at       timestamptz,
  finished_at      timestamptz
);
CREATE INDEX campaigns_by_account ON campaigns (account_id, id DESC);
-- What the feeders look at every few seconds: few rows, whatever the number of campaigns.
CREATE INDEX campaigns_to_feed ON campaigns (id) WHERE state IN ('scheduled', 'running');

-- The ledger: at most one row per (campaign, contact), written in the transaction that stores the
-- contact's message, so no contact is mailed twice by one campaign, whatever crashes or however
-- many feeders race. `outcome`: queued (a message stored to be sent), rejected (stored REJECTED:
-- the address is suppressed), refused (the pipeline refused this recipient: `refusal` is its
-- error code; no message).
CREATE TABLE campaign_recipients (
  campaign_seq bigint NOT NULL,
  contact_id   bigint NOT NULL,
  message_id   text,
  outcome      text NOT NULL CHECK (outcome IN ('queued', 'rejected', 'refused')),
  refusal      text,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (campaign_seq, contact_id)
);
