-- Submissions that are safe to retry (AIP-155): the request id a client sends with SubmitJob is
-- kept with the job it made, and the same id again returns that job instead of a second one.
ALTER TABLE jobs ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX jobs_by_request_id ON jobs (request_id) WHERE request_id != '';
