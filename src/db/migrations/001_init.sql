-- Accounts ("spaces"), their operators and API keys.
CREATE TABLE accounts (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL UNIQUE,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  callback_secret text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operators (
  id         bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, name)
);

-- Keys are high-entropy random strings, so a SHA-256 digest is enough to store them safely
-- (no slow password hash needed) and lets every request find its key by an index look-up.
CREATE TABLE api_keys (
  id          bigserial PRIMARY KEY,
  account_id  bigint NOT NULL REFERENCES accounts (id),
  operator_id bigint NOT NULL REFERENCES operators (id),
  name        text NOT NULL DEFAULT '',
  prefix      text NOT NULL,
  key_hash    text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE domains (
  id               bigserial PRIMARY KEY,
  account_id       bigint NOT NULL REFERENCES accounts (id),
  domain           text NOT NULL,
  verified         boolean NOT NULL DEFAULT false,
  dkim_selector    text NOT NULL,
  dkim_private_key text NOT NULL,
  dkim_public_key  text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, domain)
);

-- One row per message (per recipient). `status` is a cache of the fold of message_events,
-- written only in the same statement that appends the event (see src/events).
CREATE TABLE messages (
  id              text PRIMARY KEY,
  account_id      bigint NOT NULL,
  operator_id     bigint NOT NULL,
  status          text NOT NULL,
  to_address      text NOT NULL,
  from_address    text NOT NULL,
  subject         text NOT NULL,
  external_id     text,
  client_id       text,
  alias           text,
  campaign_id     text,
  callbacks       jsonb NOT NULL DEFAULT '[]',
  tags            jsonb NOT NULL DEFAULT '[]',
  envelope        jsonb NOT NULL,
  content         jsonb NOT NULL,
  message_id_hdr  text NOT NULL,
  send_at         timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX messages_by_account ON messages (account_id, id DESC);
CREATE INDEX messages_by_status ON messages (account_id, status, id DESC);
CREATE INDEX messages_by_external_id ON messages (account_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_by_client_id ON messages (account_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_by_campaign ON messages (account_id, campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX messages_by_to ON messages (account_id, to_address);

-- The event log: the one source for statuses, callbacks, webhooks, statistics and reports.
-- No foreign key to messages: both rows are written by one statement on the hot path.
CREATE TABLE message_events (
  id         bigserial PRIMARY KEY,
  message_id text NOT NULL,
  account_id bigint NOT NULL,
  type       text NOT NULL,
  created_at timestamptz NOT NULL,
  details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX message_events_by_message ON message_events (message_id, id);

-- The durable queue. A row is due when due_at <= now. Claiming a row pushes due_at forward by
-- the lease and stamps lease_token: a worker that dies simply lets the row fall due again.
CREATE TABLE queue (
  message_id   text PRIMARY KEY,
  account_id   bigint NOT NULL,
  domain       text NOT NULL,
  due_at       timestamptz NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  lease_token  text,
  queued_at    timestamptz NOT NULL,
  last_error   text
);
CREATE INDEX queue_by_due ON queue (due_at);

CREATE TABLE idempotency_keys (
  account_id   bigint NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status_code  integer NOT NULL,
  -- The response as it was sent (text, not jsonb, so a replay is the same bytes).
  response     text NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (account_id, key)
);

-- What the sandbox transport "delivered": the catcher shown by GET /sandbox/messages.
CREATE TABLE sandbox_messages (
  id            bigserial PRIMARY KEY,
  account_id    bigint NOT NULL,
  message_id    text NOT NULL,
  envelope_from text NOT NULL,
  envelope_to   jsonb NOT NULL,
  subject       text NOT NULL,
  raw           text NOT NULL,
  received_at   timestamptz NOT NULL
);
CREATE INDEX sandbox_by_account ON sandbox_messages (account_id, id DESC);
