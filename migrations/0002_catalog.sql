-- The catalog of uploaded blobs (ListModels) and the indexes that job and signature listings use.
CREATE TABLE blobs (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- upload order
  sha256       TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('model', 'input')),
  size         INTEGER,                            -- NULL: recorded by this migration
  name         TEXT NOT NULL DEFAULT '',           -- the file name it was first uploaded under
  uploaded_at  INTEGER NOT NULL,                   -- Unix milliseconds
  UNIQUE (sha256, kind)
);

-- The models and inputs of jobs submitted before the catalog existed.
INSERT OR IGNORE INTO blobs (sha256, kind, uploaded_at)
  SELECT model_sha256, 'model', MIN(created_at) FROM jobs GROUP BY model_sha256 ORDER BY 3;
INSERT OR IGNORE INTO blobs (sha256, kind, uploaded_at)
  SELECT input_sha256, 'input', MIN(created_at) FROM jobs GROUP BY input_sha256 ORDER BY 3;

CREATE INDEX jobs_by_model ON jobs (model_sha256);
CREATE INDEX jobs_by_input ON jobs (input_sha256);
CREATE INDEX jobs_by_name ON jobs (name);
CREATE INDEX job_labels_by_key_value ON job_labels (key, value);
