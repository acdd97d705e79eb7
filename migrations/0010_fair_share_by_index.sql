-- Fair share without sorting the queue: every user with a job has a turn (0 until one of their
-- jobs starts; JobQueue::Submit adds it), and each user's queued jobs are found by index in queue
-- order, so that taking the next job costs one index probe per user, however long the queue.
INSERT OR IGNORE INTO user_turns (owner, last_turn) SELECT DISTINCT owner, 0 FROM jobs;
DROP INDEX jobs_by_owner;
CREATE INDEX jobs_by_owner_queue ON jobs (owner, state, priority, seq);
