-- A message's page (issue 18) shows every attempt to send its events to callbacks and webhooks:
-- found by event, which no index served (the look-up read all of webhook_attempts, which grows
-- with every attempt of every message).
CREATE INDEX webhook_attempts_by_event ON webhook_attempts (event_id, id);
