-- Data sources beyond one uploaded batch (the datasets issue): where a job's samples come from,
-- how they are preprocessed and batched, and each entry's score over the batches.
ALTER TABLE jobs ADD COLUMN data_source TEXT NOT NULL DEFAULT '';   -- '': the upload input_sha256
ALTER TABLE jobs ADD COLUMN data_options TEXT NOT NULL DEFAULT '';  -- key=value,... (common/data_spec.h)

-- `score` is the mean over the batches in which the entry could be scored.
ALTER TABLE signature_entries ADD COLUMN batches INTEGER NOT NULL DEFAULT 1;
ALTER TABLE signature_entries ADD COLUMN score_std REAL;
ALTER TABLE signature_entries ADD COLUMN score_min REAL;
ALTER TABLE signature_entries ADD COLUMN score_max REAL;
UPDATE signature_entries SET score_std = 0, score_min = score, score_max = score
  WHERE score IS NOT NULL;

CREATE TABLE entry_batch_scores (
  job_id  TEXT NOT NULL,
  idx     INTEGER NOT NULL,
  batch   INTEGER NOT NULL,
  score   REAL,                                   -- NULL when that batch could not be scored
  PRIMARY KEY (job_id, idx, batch),
  FOREIGN KEY (job_id, idx) REFERENCES signature_entries (job_id, idx) ON DELETE CASCADE
);
