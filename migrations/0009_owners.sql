-- Identities (--auth-tokens): who submitted each job and first uploaded each blob, and the fair
-- share of the queue among users. Jobs and blobs from before, or from a server without tokens,
-- belong to 'unknown'.
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE blobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'unknown';
CREATE INDEX jobs_by_owner ON jobs (owner, state);
-- A request id names one submission of its user's: another user's equal id is another job.
DROP INDEX jobs_by_request_id;
CREATE UNIQUE INDEX jobs_by_owner_request_id ON jobs (owner, request_id) WHERE request_id != '';
CREATE INDEX blobs_by_owner ON blobs (owner);

-- Round-robin among the users with jobs waiting at the same priority: the queue takes next the
-- user whose last job started longest ago (the smallest turn; one never served goes first).
CREATE TABLE user_turns (
  owner      TEXT PRIMARY KEY,
  last_turn  INTEGER NOT NULL  -- increases with every job started
);
