-- Statistics of each SUCCEEDED job's signature over its scored entries, written with the entries
-- in the transaction that ends the job (server/store/signature_summary.h). NULL values: no entry
-- was scored. The jobs that succeeded before this migration are summarized when the store opens.
CREATE TABLE signature_summaries (
  job_id         TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  entries        INTEGER NOT NULL,
  scored         INTEGER NOT NULL,
  mean_score     REAL,
  median_score   REAL,
  std_score      REAL,
  min_score      REAL,
  max_score      REAL,
  lowest_depth   REAL
);
