-- Audit entries written by the statement that does the action they record (issue 17,
-- docs/HIPAA.md): a HIPAA account's POST /emails stores its messages and its audit entry in one
-- transaction, so the answer waits for one commit and no acknowledged send is ever missing
-- from the log. The entries wait here, unchained, until the audit log moves them onto their
-- account's chain (src/audit/audit.ts, chainPending): taking a chain's head lock in the storing
-- statement would make every store of the account wait for the one before it.
-- One row per storing statement, holding the entries of all the requests it stored (a JSON
-- array of {account_id, at, actor, operator, action, target, remote_address, outcome, status}):
-- a group-commit batch of hundreds of sends writes one row here, not hundreds.
CREATE TABLE audit_pending (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entries jsonb NOT NULL
);
