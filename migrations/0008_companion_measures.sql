-- Companion measures per activation call, opt-in per job (docs/affinity-score.md, section 5).
-- jobs.measures: the names SubmitJob's measures gave, comma-separated in their canonical order
-- (common/measures.h), '' for none. entry_measures: for each scored entry of such a job, each
-- measure's mean over the batches in which it was defined (NULL: in none) and its population
-- standard deviation. A job without measures has no rows there.
ALTER TABLE jobs ADD COLUMN measures TEXT NOT NULL DEFAULT '';

CREATE TABLE entry_measures (
  job_id   TEXT NOT NULL,
  idx      INTEGER NOT NULL,
  measure  TEXT NOT NULL,                -- shrinkage_score, cka, sparsity_before, ..., r2
  mean     REAL,
  std      REAL,
  PRIMARY KEY (job_id, idx, measure),
  FOREIGN KEY (job_id, idx) REFERENCES signature_entries (job_id, idx) ON DELETE CASCADE
);
