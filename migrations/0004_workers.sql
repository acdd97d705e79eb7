-- Workers in their own processes, on any machine (the workers issue): a worker holds a job by a
-- lease, each attempt at a job is recorded with how it ended, a job has a timeout, a cancel
-- outlives a crash, and a job whose worker was lost waits out a backoff before its next attempt.
ALTER TABLE jobs ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 3600000;
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;  -- Unix ms: no lease before

CREATE TABLE job_attempts (
  job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,                -- from 1, as jobs.attempts counts them
  lease_id    TEXT NOT NULL UNIQUE,            -- the worker's right to end this attempt
  worker      TEXT NOT NULL,
  device      TEXT NOT NULL,
  local       INTEGER NOT NULL DEFAULT 0,      -- a child process of the server: dies with it
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,                         -- NULL while the lease is open
  outcome     TEXT CHECK (outcome IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'LOST',
                                      'RETURNED')),
  reason      TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, attempt)
);
CREATE INDEX job_attempts_open ON job_attempts (ended_at, lease_id);
