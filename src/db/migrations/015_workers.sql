-- Processes that hold leases (queue rows, webhook lanes), so that the leases of one that died are
-- handed back within seconds instead of when they run out. Each lease token starts with its
-- holder's id ("<worker id>.<random>"); a live worker holds a session advisory lock on its id,
-- which PostgreSQL frees the moment the process's connection closes (a SIGKILL included).
CREATE TABLE workers (
  id         text PRIMARY KEY,
  host       text NOT NULL,
  pid        integer NOT NULL,
  started_at timestamptz NOT NULL
);
