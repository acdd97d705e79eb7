-- Signature jobs, their labels and the scores of every activation call.
CREATE TABLE jobs (
  id            TEXT PRIMARY KEY,
  seq           INTEGER NOT NULL UNIQUE,          -- submission order
  name          TEXT NOT NULL DEFAULT '',
  model_sha256  TEXT NOT NULL,
  input_sha256  TEXT NOT NULL,
  activations   TEXT NOT NULL CHECK (activations IN ('modules', 'all')),
  priority      INTEGER NOT NULL DEFAULT 0,       -- higher runs first
  state         TEXT NOT NULL CHECK (state IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED',
                                               'CANCELLED')),
  attempts      INTEGER NOT NULL DEFAULT 0,       -- times a worker took the job
  error         TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,                 -- Unix milliseconds
  started_at    INTEGER,
  finished_at   INTEGER
);
CREATE INDEX jobs_by_queue_order ON jobs (state, priority DESC, seq);

CREATE TABLE job_labels (
  job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  key     TEXT NOT NULL,
  value   TEXT NOT NULL,
  PRIMARY KEY (job_id, key)
);

CREATE TABLE signature_entries (
  job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  idx     INTEGER NOT NULL,
  module  TEXT NOT NULL,
  call    INTEGER NOT NULL,
  op      TEXT NOT NULL,
  d       INTEGER NOT NULL,
  n       INTEGER NOT NULL,
  score   REAL,                                   -- NULL when status is not 'ok'
  status  TEXT NOT NULL,
  reason  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, idx)
);
