-- API key scopes (issue 18): what a key may do. NULL: everything, as every key made before
-- scopes existed (and `mailroom keys create` without --scopes). `send`: POST /emails and SMTP
-- AUTH; `read`: every GET; `admin`: every other change (domains, webhooks, keys ...).
ALTER TABLE api_keys ADD COLUMN scopes text[];
