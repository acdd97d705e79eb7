-- How a job's forward pass runs (SubmitJob's optimize): 'auto' (frozen and channels_last where
-- LibTorch can) or 'off' (the model's own forward). Jobs made before ran their model's own
-- forward, and the workers that run them now optimize them: the scores differ by rounding only.
ALTER TABLE jobs ADD COLUMN optimize TEXT NOT NULL DEFAULT 'auto';
